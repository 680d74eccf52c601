"""W5: GPT train step, 4 layers, 4 heads, d 256, ctx 128, vocab 2048, batch 8, AdamW
(bench/src/workloads/w5-gpt-train.mjs)."""
import torch

from torch_workloads.gpt import GPT

TRAINING = True


def setup(params):
    torch.manual_seed(0)
    model = GPT(params["vocab"], params["ctx"], params["n_embd"], params["n_layer"], params["n_head"])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    ids = torch.randint(0, params["vocab"], (params["batch"], params["ctx"]))

    def step():
        _, loss, _ = model(ids, labels=ids)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step, (lambda: None)
