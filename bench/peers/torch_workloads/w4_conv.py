"""W4: conv2d 3x3 s1 p1 forward + backward (bench/src/workloads/w4-conv.mjs)."""
import torch

TRAINING = True


def setup(params):
    torch.manual_seed(0)
    x = torch.randn(params["batch"], params["cin"], params["size"], params["size"], requires_grad=True)
    w = (torch.randn(params["cout"], params["cin"], 3, 3) * 0.1).requires_grad_()
    b = torch.randn(params["cout"], requires_grad=True)

    def step():
        out = torch.nn.functional.conv2d(x, w, b, padding=1)
        gx, gw, gb = torch.autograd.grad(out.sum(), [x, w, b])
        return gx.sum() + gw.sum() + gb.sum()

    return step, (lambda: None)
