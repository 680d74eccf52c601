"""W6: GPT-2 small (random weights) greedy decode with a key/value cache, batch 1
(bench/src/workloads/w6-gpt-decode.mjs): the prompt in one forward, then one token per forward,
as Hugging Face's generate does it, the chosen token read back at every step."""
import torch

from torch_workloads.gpt import GPT


def setup(params):
    torch.manual_seed(0)
    model = GPT(params["vocab"], params["n_positions"], params["n_embd"], params["n_layer"], params["n_head"]).eval()
    prompt = torch.randint(0, params["vocab"], (1, params["prompt"]))
    new_tokens = params["new_tokens"]

    def step():
        ids, x, past = prompt, prompt, None
        for _ in range(new_tokens):
            logits, _, past = model(x, past=past)
            x = logits[:, -1].argmax(-1, keepdim=True)
            x.item()  # the token is needed on the host at every step (stop tokens, streaming)
            ids = torch.cat([ids, x], dim=1)
        return ids[0, -1]

    return step, (lambda: None)
