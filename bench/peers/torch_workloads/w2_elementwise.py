"""W2: relu(x * 2 + 1).sum() over 2^22 fp32, forward only (bench/src/workloads/w2-elementwise.mjs)."""
import torch


def setup(params):
    torch.manual_seed(0)
    x = torch.randn(params["numel"])
    return (lambda: torch.relu(x * 2 + 1).sum()), (lambda: None)
