"""W3: MLP 784-256-256-10 train step with Adam, batch 128 (bench/src/workloads/w3-mlp.mjs)."""
import torch

TRAINING = True


def setup(params):
    torch.manual_seed(0)
    batch = params["batch"]
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 784)
    y = torch.randint(0, 10, (batch,))

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step, (lambda: None)
