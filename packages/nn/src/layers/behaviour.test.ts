// Layer behaviour beyond numerical parity: input-shape errors that name the layer, deepCopy and
// the cloned layers of Transformer stacks, ConvTranspose2d's outputSize, MaxPool2d indices,
// recurrent states, attention masks, and dropout inside RNNs and Transformers in training mode.
import * as k from '@kiln/core';
import '@kiln/backend-cpu';
import { describe, expect, it } from 'vitest';
import { F, nn } from '../index.js';

describe('input shape errors name the layer', () => {
  it('Conv2d with the wrong channel count or rank', () => {
    const conv = new nn.Conv2d(3, 8, 3);
    expect(() => conv.forward(k.randn([2, 4, 5, 5]))).toThrow(
      'Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1)): expected input [N, 3, H, W] or [3, H, W], got [2, 4, 5, 5]',
    );
    expect(() => conv.forward(k.randn([3, 5]))).toThrow(/expected input \[N, 3, H, W\]/);
  });

  it('Conv layers refuse impossible configurations', () => {
    expect(() => new nn.Conv2d(3, 8, 3, { groups: 2 })).toThrow(
      /in_channels \(3\) must be divisible by groups \(2\)/,
    );
    expect(() => new nn.Conv2d(3, 8, 3, { padding: 'same', stride: 2 })).toThrow(
      /padding='same' is not supported for strided convolutions/,
    );
    expect(() => new nn.Conv2d(3, 8, 3, { paddingMode: 'mirror' as never })).toThrow(
      /padding_mode must be one of/,
    );
  });

  it('RNNs with the wrong feature size or hidden state', () => {
    const lstm = new nn.LSTM(4, 5, { numLayers: 2 });
    expect(() => lstm.forward(k.randn([3, 2, 6]))).toThrow(
      'LSTM(4, 5, num_layers=2): input.size(-1) must be equal to input_size. Expected 4, got 6',
    );
    expect(() => lstm.forward(k.randn([3, 2, 4]), [k.zeros([1, 2, 5]), k.zeros([2, 2, 5])])).toThrow(
      /Expected hidden\[0\] size \(2, 2, 5\), got \[1, 2, 5\]/,
    );
    expect(() => new nn.GRU(4, 5).forward(k.randn([2, 3, 4, 4]))).toThrow(
      /Expected input to be 2D or 3D, got 4D/,
    );
  });

  it('MultiheadAttention with mismatched feature sizes or masks', () => {
    const mha = new nn.MultiheadAttention(8, 2);
    const x = k.randn([4, 2, 8]);
    expect(() => mha.forward(x, k.randn([4, 2, 6]), x)).toThrow(
      /expected query, key and value feature sizes 8, 8, 8/,
    );
    expect(() => mha.forward(x, x, x, { attnMask: k.zeros([3, 4]) })).toThrow(
      /the shape of the 2D attn_mask is \[3, 4\], but should be \[4, 4\]/,
    );
    expect(() => mha.forward(x, x, x, { keyPaddingMask: k.zeros([2, 5], { dtype: 'bool' }) })).toThrow(
      /expected key_padding_mask of shape \[2, 4\]/,
    );
    expect(() => new nn.MultiheadAttention(10, 3)).toThrow(
      /embed_dim \(10\) must be divisible by num_heads \(3\)/,
    );
  });

  it('Transformer with mismatched batch or feature sizes', () => {
    const t = new nn.Transformer({
      dModel: 8,
      nhead: 2,
      numEncoderLayers: 1,
      numDecoderLayers: 1,
      dimFeedforward: 8,
    });
    expect(() => t.forward(k.randn([5, 2, 8]), k.randn([4, 3, 8]))).toThrow(
      /the batch number of src \[5, 2, 8\] and tgt \[4, 3, 8\] must be equal/,
    );
    expect(() => t.forward(k.randn([5, 2, 6]), k.randn([4, 2, 6]))).toThrow(/must be equal to d_model \(8\)/);
  });

  it('pooling with an input of the wrong rank', () => {
    expect(() => new nn.MaxPool2d(2).forward(k.randn([8]))).toThrow(
      /MaxPool2d\(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False\): expected a 3D or 4D input/,
    );
  });
});

describe('deepCopy and stacks', () => {
  it('deepCopy makes independent parameters with the same values, preserving sharing', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(3, 3);
      b = this.a;
      bn = new nn.BatchNorm1d(3);
    }
    const m = new Tied();
    const c = m.deepCopy();
    expect(c).not.toBe(m);
    expect(c.a).not.toBe(m.a);
    expect(c.b).toBe(c.a);
    expect(c.a.weight.dataSync()).toEqual(m.a.weight.dataSync());
    expect(c.a.weight instanceof nn.Parameter && c.a.weight.requiresGrad).toBe(true);
    expect(Object.keys(c.stateDict())).toEqual(Object.keys(m.stateDict()));
    k.noGrad(() => c.a.weight.fill_(0));
    expect(m.a.weight.dataSync().some((v) => v !== 0)).toBe(true);
    c.bn.forward(k.randn([4, 3]));
    expect(m.bn.num_batches_tracked!.itemSync()).toBe(0);
  });

  it('deepCopy keeps container indexing working on the copy', () => {
    const seq = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU());
    const copy = seq.deepCopy();
    expect(copy[0]).not.toBe(seq[0]);
    expect(copy[0]).toBe(copy.at(0));
  });

  it('TransformerEncoder starts every layer from the given layer weights (as torch clones it)', () => {
    const layer = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 });
    const enc = new nn.TransformerEncoder(layer, 3);
    const w = layer.linear1.weight.dataSync();
    for (const l of enc.layers) {
      expect(l.linear1.weight).not.toBe(layer.linear1.weight);
      expect(l.linear1.weight.dataSync()).toEqual(w);
    }
    expect([...enc.parameters()].length).toBe(3 * [...layer.parameters()].length);
  });
});

describe('layer features', () => {
  it('ConvTranspose2d picks the output padding that gives the requested size', () => {
    const up = new nn.ConvTranspose2d(2, 3, 3, { stride: 2, padding: 1 });
    const x = k.randn([1, 2, 4, 4]);
    expect(up.forward(x).shape).toEqual([1, 3, 7, 7]);
    expect(up.forward(x, [8, 8]).shape).toEqual([1, 3, 8, 8]);
    expect(() => up.forward(x, [10, 10])).toThrow(/valid sizes range from 7 to 8/);
  });

  it('MaxPool2d.forwardWithIndices returns the argmax of each window', () => {
    const x = k.tensor([
      [
        [
          [1, 5, 2, 0],
          [3, 4, 9, 1],
        ],
      ],
    ]);
    const { values, indices } = new nn.MaxPool2d(2).forwardWithIndices(x.float());
    expect(values.toArraySync()).toEqual([[[[5, 9]]]]);
    expect(indices.toArraySync()).toEqual([[[[1, 6]]]]);
  });

  it('LSTM and GRU continue from a returned state exactly as one longer run', () => {
    for (const rnn of [new nn.LSTM(3, 4, { numLayers: 2 }), new nn.GRU(3, 4, { bidirectional: false })]) {
      const x = k.randn([6, 2, 3]);
      const [full] = (rnn.forward as (x: k.Tensor) => [k.Tensor, unknown])(x);
      const [first, state] = (rnn.forward as (x: k.Tensor) => [k.Tensor, unknown])(x.narrow(0, 0, 2));
      const [rest] = (rnn.forward as (x: k.Tensor, s: unknown) => [k.Tensor, unknown])(
        x.narrow(0, 2, 4),
        state,
      );
      const joined = k.cat([first, rest], 0).dataSync() as Float32Array;
      const expected = full.dataSync() as Float32Array;
      for (let i = 0; i < expected.length; i++) expect(joined[i]).toBeCloseTo(expected[i], 5);
    }
  });

  it('inter-layer dropout of RNNs and dropout in Transformers act only in training mode', () => {
    const lstm = new nn.LSTM(3, 4, { numLayers: 2, dropout: 0.5 });
    const x = k.randn([5, 2, 3]);
    k.manualSeed(1);
    const a = lstm.forward(x)[0].dataSync();
    k.manualSeed(2);
    const b = lstm.forward(x)[0].dataSync();
    expect(a).not.toEqual(b);
    lstm.eval();
    expect(lstm.forward(x)[0].dataSync()).toEqual(lstm.forward(x)[0].dataSync());
  });

  it('MultiheadAttention weights sum to 1 and respect a key padding mask', () => {
    const mha = new nn.MultiheadAttention(4, 2, { batchFirst: true });
    const x = k.randn([2, 3, 4]);
    const mask = k.tensor([
      [false, false, true],
      [false, false, false],
    ]);
    const [out, w] = mha.forward(x, x, x, { keyPaddingMask: mask });
    expect(out.shape).toEqual([2, 3, 4]);
    const weights = w!.toArraySync() as number[][][];
    for (const row of weights[0]) {
      expect(row[2]).toBe(0);
      expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    }
  });

  it('generateSquareSubsequentMask is PyTorch float mask', () => {
    expect(nn.Transformer.generateSquareSubsequentMask(3).toArraySync()).toEqual([
      [0, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
      [0, 0, Number.NEGATIVE_INFINITY],
      [0, 0, 0],
    ]);
  });

  it('a causal scaledDotProductAttention equals an explicit lower-triangular boolean mask', () => {
    const q = k.randn([2, 4, 8]);
    const key = k.randn([2, 4, 8]);
    const v = k.randn([2, 4, 8]);
    const tril = k.tensor([
      [true, false, false, false],
      [true, true, false, false],
      [true, true, true, false],
      [true, true, true, true],
    ]);
    const a = F.scaledDotProductAttention(q, key, v, { isCausal: true }).dataSync() as Float32Array;
    const b = F.scaledDotProductAttention(q, key, v, { attnMask: tril }).dataSync() as Float32Array;
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 6);
  });
});

describe('memory', () => {
  it('a training step of a conv + LSTM + attention model inside tidy leaves the live tensor count flat', async () => {
    const { optim } = await import('../index.js');
    class Model extends nn.Module {
      conv = new nn.Conv1d(3, 4, 3, { padding: 1 });
      rnn = new nn.GRU(4, 4, { batchFirst: true });
      attn = new nn.MultiheadAttention(4, 2, { batchFirst: true });
      head = new nn.Linear(4, 2);
      override forward(x: k.Tensor): k.Tensor {
        const h = this.conv.forward(x).transpose(1, 2);
        const [o] = this.rnn.forward(h);
        const [a] = this.attn.forward(o, o, o);
        return this.head.forward(a.mean(1));
      }
    }
    const m = new Model();
    const opt = new optim.AdamW(m.parameters(), { lr: 1e-2 });
    const x = k.randn([4, 3, 6]);
    const y = k.tensor([0, 1, 1, 0]);
    const step = () =>
      k.tidy(() => {
        opt.zeroGrad();
        F.crossEntropy(m.forward(x), y).backward();
        nn.utils.clipGradNorm_(m.parameters(), 1);
        opt.step();
      });
    step();
    const live = k.memory().tensors;
    for (let i = 0; i < 5; i++) step();
    expect(k.memory().tensors).toBe(live);
  });
});
