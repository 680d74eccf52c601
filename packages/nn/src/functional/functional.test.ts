// Functional pieces whose references are definitions rather than fixtures: dropout's statistics
// and seeding, oneHot, embedding's errors, gradient clipping, optimizer state round trips.
import * as k from '@kiln/core';
import '@kiln/backend-cpu';
import { describe, expect, it } from 'vitest';
import { F, nn, optim } from '../index.js';

describe('dropout', () => {
  it('zeroes about p of the elements and scales the rest by 1 / (1 - p)', () => {
    const y = F.dropout(k.ones([20000]), 0.3);
    const v = Array.from(y.dataSync() as Float32Array);
    const zeros = v.filter((x) => x === 0).length / v.length;
    expect(zeros).toBeGreaterThan(0.28);
    expect(zeros).toBeLessThan(0.32);
    expect(v.filter((x) => x !== 0).every((x) => Math.abs(x - 1 / 0.7) < 1e-6)).toBe(true);
  });

  it('is reproducible under manualSeed and the identity in eval mode', () => {
    const d = new nn.Dropout(0.5);
    const x = k.randn([64]);
    k.manualSeed(7);
    const a = d.forward(x).dataSync();
    k.manualSeed(7);
    const b = d.forward(x).dataSync();
    expect(a).toEqual(b);
    d.eval();
    expect(d.forward(x)).toBe(x);
  });

  it('passes gradients through the kept elements only', () => {
    const x = k.ones([1000], { requiresGrad: true });
    const y = F.dropout(x, 0.5);
    y.sum().backward();
    expect(Array.from(x.grad!.dataSync() as Float32Array)).toEqual(Array.from(y.dataSync() as Float32Array));
  });

  it('rejects p outside [0, 1]', () => {
    expect(() => new nn.Dropout(1.5)).toThrow(/between 0 and 1, but got 1.5/);
  });
});

describe('oneHot and embedding', () => {
  it('oneHot puts classes on a new last dim', () => {
    expect(F.oneHot(k.tensor([0, 2, 1]), 4).toArraySync()).toEqual([
      [1, 0, 0, 0],
      [0, 0, 1, 0],
      [0, 1, 0, 0],
    ]);
    expect(F.oneHot(k.tensor([[1], [3]])).shape).toEqual([2, 1, 4]);
  });

  it('embedding rejects float indices and out-of-range ones', () => {
    const e = new nn.Embedding(5, 2);
    expect(() => e.forward(k.tensor([0.5, 1]))).toThrow(/expected integer indices/);
    expect(() => e.forward(k.tensor([1, 5]))).toThrow(/out of bounds/);
  });
});

describe('clipGradNorm_', () => {
  it('returns the total norm and scales the gradients to maxNorm', () => {
    const a = k.zeros([2], { requiresGrad: true });
    const b = k.zeros([1], { requiresGrad: true });
    a.mul(k.tensor([3, 0]))
      .sum()
      .add(b.mul(4).sum())
      .backward();
    const total = nn.utils.clipGradNorm_([a, b], 1);
    expect(total.itemSync()).toBeCloseTo(5, 6);
    const scale = 1 / (5 + 1e-6);
    expect(a.grad!.dataSync()[0]).toBeCloseTo(3 * scale, 6);
    expect(b.grad!.dataSync()[0]).toBeCloseTo(4 * scale, 6);
  });

  it('leaves gradients under the limit unchanged, and supports the infinity norm', () => {
    const a = k.zeros([3], { requiresGrad: true });
    a.mul(k.tensor([0.1, -0.2, 0.05]))
      .sum()
      .backward();
    expect(nn.utils.clipGradNorm_([a], 10, { normType: Number.POSITIVE_INFINITY }).itemSync()).toBeCloseTo(
      0.2,
      6,
    );
    expect(a.grad!.dataSync()[1]).toBeCloseTo(-0.2, 6);
  });
});

describe('optimizer state dicts', () => {
  function train(model: nn.Linear, opt: optim.Adam, steps: number): void {
    const x = k.tensor(
      [
        [1, 2],
        [3, -1],
      ],
      { dtype: 'float32' },
    );
    for (let i = 0; i < steps; i++) {
      k.tidy(() => {
        opt.zeroGrad();
        model.forward(x).square().mean().backward();
        opt.step();
      });
    }
  }

  it('resuming from stateDict continues exactly where the saved run was', () => {
    const a = new nn.Linear(2, 2);
    const b = new nn.Linear(2, 2);
    b.loadStateDict(a.stateDict());
    const optA = new optim.Adam(a.parameters(), { lr: 0.05, amsgrad: true });
    train(a, optA, 10);
    const optB = new optim.Adam(b.parameters(), { lr: 0.05, amsgrad: true });
    train(b, optB, 5);
    const saved = optB.stateDict();
    expect(saved.paramGroups[0].params).toEqual([0, 1]);
    expect(saved.state[0].step).toBe(5);
    const c = new nn.Linear(2, 2);
    c.loadStateDict(b.stateDict());
    const optC = new optim.Adam(c.parameters(), { lr: 0.5 });
    optC.loadStateDict(saved);
    expect(optC.paramGroups[0].lr).toBe(0.05);
    train(c, optC, 5);
    expect(c.weight.dataSync()).toEqual(a.weight.dataSync());
  });

  it('refuses a state dict for a different parameter layout', () => {
    const opt = new optim.SGD(new nn.Linear(2, 2).parameters(), { lr: 0.1 });
    const other = new optim.SGD(new nn.Sequential(new nn.Linear(2, 2), new nn.Linear(2, 2)).parameters(), {
      lr: 0.1,
    });
    expect(() => opt.loadStateDict(other.stateDict())).toThrow(/doesn't match the size of optimizer's group/);
  });
});
