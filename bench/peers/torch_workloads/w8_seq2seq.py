"""W8: seq2seq train step, GRU encoder + GRU decoder with Bahdanau attention, Adam
(bench/src/workloads/w8-seq2seq.mjs). The model mirrors @kiln/models' Seq2Seq
(packages/models/src/seq2seq/model.ts) computation for computation: the encoder GRU over the whole
source, the decoder's first state gathered after each source's last real token, the keys projected
once (Ua h_j), one attention + one-step GRU per target position with the previous state as query,
the output projection over all positions at once, cross-entropy with ignore_index = pad. Dropout 0
on both sides. The batch is the same ids as the Node side (same LCG)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

TRAINING = True

PAD, BOS, EOS = 0, 1, 2


def seq2seq_batch(batch, length, vocab):
    """seq2seqBatch of w8-seq2seq.mjs, line for line."""
    state = 12345

    def word():
        nonlocal state
        state = state * 48271 % 2147483647
        return 3 + state % (vocab - 3)

    def sentence(n):
        return [word() for _ in range(n - 1)] + [EOS] + [PAD] * (length - n)

    src, labels, tgt_in = [], [], []
    for i in range(batch):
        n = 8 + (i * 5) % 9
        src.append(sentence(n))
        y = sentence(n)
        labels.append(y)
        tgt_in.append([t if j < n else PAD for j, t in enumerate([BOS] + y[: length - 1])])
    return src, tgt_in, labels


class Encoder(nn.Module):
    def __init__(self, vocab, embed, units):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=PAD)
        self.gru = nn.GRU(embed, units, batch_first=True)

    def forward(self, src, mask):
        output, _ = self.gru(self.embedding(src))
        b, _, h = output.shape
        last = (mask.sum(1) - 1).view(b, 1, 1).expand(b, 1, h)
        return output, output.gather(1, last).transpose(0, 1)


class BahdanauAttention(nn.Module):
    def __init__(self, units):
        super().__init__()
        self.Wa = nn.Linear(units, units)
        self.Ua = nn.Linear(units, units)
        self.Va = nn.Linear(units, 1)

    def forward(self, query, keys, projected_keys, mask):
        energy = torch.tanh(self.Wa(query).unsqueeze(1) + projected_keys)
        scores = self.Va(energy).squeeze(2).masked_fill(~mask, torch.finfo(torch.float32).min)
        weights = scores.softmax(-1)
        return torch.bmm(weights.unsqueeze(1), keys).squeeze(1), weights


class Decoder(nn.Module):
    def __init__(self, vocab, embed, units):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=PAD)
        self.attention = BahdanauAttention(units)
        self.gru = nn.GRU(embed + units, units, batch_first=True)
        self.out = nn.Linear(units, vocab)

    def forward(self, tgt_in, hidden, keys, projected_keys, mask):
        embedded = self.embedding(tgt_in)
        outputs = []
        h = hidden
        for t in range(tgt_in.size(1)):  # teacher forcing
            context, _ = self.attention(h.squeeze(0), keys, projected_keys, mask)
            output, h = self.gru(torch.cat([embedded[:, t], context], 1).unsqueeze(1), h)
            outputs.append(output)
        return self.out(torch.cat(outputs, 1))


class Seq2Seq(nn.Module):
    def __init__(self, vocab, embed, units):
        super().__init__()
        self.encoder = Encoder(vocab, embed, units)
        self.decoder = Decoder(vocab, embed, units)

    def forward(self, src, tgt_in, labels):
        mask = src != PAD
        keys, hidden = self.encoder(src, mask)
        projected = self.decoder.attention.Ua(keys)
        logits = self.decoder(tgt_in, hidden, keys, projected, mask)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=PAD)


def setup(params):
    torch.manual_seed(0)
    model = Seq2Seq(params["vocab"], params["embed"], params["units"])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    src, tgt_in, labels = (torch.tensor(rows) for rows in seq2seq_batch(params["batch"], params["srcLen"], params["vocab"]))

    def step():
        loss = model(src, tgt_in, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step, (lambda: None)
