"""W1: matmul [N,N] x [N,N], fp32, random normal inputs (bench/src/workloads/w1-matmul.mjs)."""
import torch


def setup(params):
    n = params["n"]
    torch.manual_seed(0)
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    # One element is read back, as the Node side does.
    return (lambda: (a @ b)[0, 0]), (lambda: None)
