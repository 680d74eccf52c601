// GPTConfig reads and writes config.json with Hugging Face's field names; GPT.forward's argument
// errors name the problem.
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { describe, expect, it } from 'vitest';
import { GPT, GPTConfig } from '../index.js';

describe('GPTConfig', () => {
  it("defaults to GPT2Config's (the 124M gpt2) and keeps unknown fields for save", () => {
    const c = new GPTConfig({ n_layer: 2, summary_type: 'cls_index' });
    expect([c.vocab_size, c.n_positions, c.n_embd, c.n_head, c.n_layer]).toEqual([50257, 1024, 768, 12, 2]);
    expect([c.innerSize, c.headDim, c.hiddenSize, c.numLayers]).toEqual([3072, 64, 768, 2]);
    const json = c.toJSON();
    expect(json.summary_type).toBe('cls_index');
    expect(json.model_type).toBe('gpt2');
    expect(json.activation_function).toBe('gelu_new');
  });

  it('rejects inconsistent configs with the field in the message', () => {
    expect(() => new GPTConfig({ n_embd: 30, n_head: 4 })).toThrow(
      /n_embd \(30\) must be divisible by n_head \(4\)/,
    );
    expect(() => new GPTConfig({ activation_function: 'mish' })).toThrow(/activation_function "mish"/);
    expect(() => new GPTConfig({ n_layer: 0 })).toThrow(/n_layer must be a positive integer/);
  });
});

describe('GPT.forward errors', () => {
  const model = new GPT({ vocab_size: 11, n_positions: 4, n_embd: 8, n_layer: 1, n_head: 2 });

  it('names the problem: float ids, too long a sequence, a mask of the wrong shape', () => {
    expect(() => model.forward(k.zeros([1, 3]))).toThrow(
      /expected integer inputIds \[batch, seq\], got float32 \[1, 3\]/,
    );
    expect(() => model.forward(k.zeros([1, 5], { dtype: 'int32' }))).toThrow(
      /sequence length 5 .* exceeds n_positions 4/,
    );
    expect(() =>
      model.forward(k.zeros([2, 3], { dtype: 'int32' }), {
        attentionMask: k.ones([2, 2], { dtype: 'int32' }),
      }),
    ).toThrow(/attentionMask must be \[2, 3\]/);
  });

  it('trains: dropout is active in training mode and off in eval mode', () => {
    const m = new GPT({ vocab_size: 11, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2, embd_pdrop: 0.5 });
    const ids = k.tensor([[1, 2, 3, 4]], { dtype: 'int32' });
    const a = m.forward(ids).logits.dataSync();
    const b = m.forward(ids).logits.dataSync();
    expect(a).not.toEqual(b);
    m.eval();
    expect(m.forward(ids).logits.dataSync()).toEqual(m.forward(ids).logits.dataSync());
  });
});

describe('GPT initialisation', () => {
  it("follows HF's _init_weights: N(0, 0.02), c_proj N(0, 0.02 / sqrt(2 n_layer)), zero biases, unit norms", () => {
    k.manualSeed(0);
    const m = new GPT({ vocab_size: 500, n_positions: 64, n_embd: 64, n_layer: 4, n_head: 4 });
    const std = (t: k.Tensor) => t.std().itemSync();
    expect(std(m.wte.weight)).toBeCloseTo(0.02, 3);
    expect(std(m.h[0].attn.c_attn.weight)).toBeCloseTo(0.02, 3);
    expect(std(m.h[3].mlp.c_proj.weight)).toBeCloseTo(0.02 / Math.sqrt(8), 3);
    expect(m.h[1].attn.c_attn.bias.abs().max().itemSync()).toBe(0);
    expect(m.ln_f.weight!.min().itemSync()).toBe(1);
  });
});
