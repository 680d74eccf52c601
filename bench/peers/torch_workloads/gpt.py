"""GPT-2 in plain PyTorch for W5 and W6 (no `transformers` package): the architecture of Kiln's
GPT (packages/models/src/gpt/model.ts, Hugging Face's GPT2LMHeadModel): learned token and position
embeddings, pre-LayerNorm blocks, Conv1D projections stored [in, out], the tanh GELU (gelu_new),
causal attention whose masked scores are finfo.min, an lm head tied to wte, a key/value cache.
No dropout (W5 and W6 run both sides with dropout 0). Not a workload itself: no setup()."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Conv1D(nn.Module):
    """HF's Conv1D: a linear layer whose weight is stored [in, out]; y = x @ W + b."""

    def __init__(self, nx, nf, std):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(nx, nf).normal_(0, std))
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x):
        out = torch.addmm(self.bias, x.reshape(-1, x.size(-1)), self.weight)
        return out.view(x.size()[:-1] + (self.weight.size(-1),))


class Attention(nn.Module):
    def __init__(self, d, n_head, std, proj_std):
        super().__init__()
        self.n_head = n_head
        self.c_attn = Conv1D(d, 3 * d, std)
        self.c_proj = Conv1D(d, d, proj_std)

    def split(self, x):
        b, t, e = x.shape
        return x.view(b, t, self.n_head, e // self.n_head).permute(0, 2, 1, 3)

    def forward(self, x, past):
        b, t, e = x.shape
        q, k, v = self.c_attn(x).split(e, dim=2)
        q, k, v = self.split(q), self.split(k), self.split(v)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        s = k.size(2)
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(e / self.n_head)
        # Query i sits at absolute index s - t + i and may see keys j <= s - t + i.
        causal = torch.ones(t, s, dtype=torch.bool).tril(s - t)
        w = w.masked_fill(~causal, torch.finfo(w.dtype).min).softmax(-1)
        o = torch.matmul(w, v).permute(0, 2, 1, 3).reshape(b, t, e)
        return self.c_proj(o), (k, v)


class Block(nn.Module):
    def __init__(self, d, n_head, std, proj_std):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = Attention(d, n_head, std, proj_std)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = Conv1D(d, 4 * d, std)
        self.c_proj = Conv1D(4 * d, d, proj_std)

    def forward(self, x, past):
        a, present = self.attn(self.ln_1(x), past)
        x = x + a
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")), present


class GPT(nn.Module):
    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head, std=0.02):
        super().__init__()
        proj_std = std / math.sqrt(2 * n_layer)
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(n_positions, n_embd)
        nn.init.normal_(self.wte.weight, 0, std)
        nn.init.normal_(self.wpe.weight, 0, std)
        self.h = nn.ModuleList([Block(n_embd, n_head, std, proj_std) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)

    def forward(self, ids, labels=None, past=None):
        """ids [B, T] -> (logits [B, T, V], loss or None, the cache extended by this step)."""
        past_len = 0 if past is None else past[0][0].size(2)
        pos = torch.arange(past_len, past_len + ids.size(1)).unsqueeze(0)
        x = self.wte(ids) + self.wpe(pos)
        presents = []
        for i, block in enumerate(self.h):
            x, present = block(x, None if past is None else past[i])
            presents.append(present)
        logits = torch.matmul(self.ln_f(x), self.wte.weight.t())
        loss = None
        if labels is not None:
            v = logits.size(-1)
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, v), labels[:, 1:].reshape(-1))
        return logits, loss, presents
