// nn.init: the bounds, moments and structure each initialiser promises (PyTorch's formulas), seeded
// reproducibility, and PyTorch's default initialisation of Linear and Embedding.
import * as k from '@kiln/core';
import '@kiln/backend-cpu';
import { describe, expect, it } from 'vitest';
import { init, nn } from '../index.js';

function stats(t: k.Tensor): { min: number; max: number; mean: number; std: number } {
  const v = Array.from(t.dataSync() as Float32Array);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { min: Math.min(...v), max: Math.max(...v), mean, std };
}

describe('init', () => {
  it('computes fans like PyTorch (receptive field included)', () => {
    expect(init.calculateFanInAndFanOut(k.empty([16, 3, 5, 5]))).toEqual({ fanIn: 75, fanOut: 400 });
    expect(() => init.calculateFanInAndFanOut(k.empty([4]))).toThrow(/fewer than 2 dimensions/);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 12);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 12);
  });

  it('xavierUniform_ stays within gain * sqrt(6 / (fan_in + fan_out)) with the uniform variance', () => {
    const w = init.xavierUniform_(k.empty([200, 300]), 2);
    const bound = 2 * Math.sqrt(6 / 500);
    const s = stats(w);
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.min).toBeGreaterThanOrEqual(-bound);
    expect(s.std).toBeCloseTo(bound / Math.sqrt(3), 2);
  });

  it('xavierNormal_, kaimingNormal_ and normal_ have the promised standard deviations', () => {
    expect(stats(init.xavierNormal_(k.empty([200, 300]))).std).toBeCloseTo(Math.sqrt(2 / 500), 2);
    expect(stats(init.kaimingNormal_(k.empty([300, 200]), { nonlinearity: 'relu' })).std).toBeCloseTo(
      Math.sqrt(2 / 200),
      2,
    );
    expect(
      stats(init.kaimingNormal_(k.empty([300, 200]), { mode: 'fan_out', nonlinearity: 'relu' })).std,
    ).toBeCloseTo(Math.sqrt(2 / 300), 2);
    const n = stats(init.normal_(k.empty([40000]), 3, 0.5));
    expect(n.mean).toBeCloseTo(3, 1);
    expect(n.std).toBeCloseTo(0.5, 1);
  });

  it('kaimingUniform_ bounds by gain * sqrt(3 / fan_in)', () => {
    const s = stats(init.kaimingUniform_(k.empty([64, 50]), { a: 0, nonlinearity: 'relu' }));
    expect(s.max).toBeLessThanOrEqual(Math.sqrt(2) * Math.sqrt(3 / 50));
    expect(s.max).toBeGreaterThan(0.9 * Math.sqrt(2) * Math.sqrt(3 / 50));
  });

  it('truncNormal_ stays within [a, b]', () => {
    const s = stats(init.truncNormal_(k.empty([20000]), 0, 1, -0.5, 1.5));
    expect(s.min).toBeGreaterThanOrEqual(-0.5);
    expect(s.max).toBeLessThanOrEqual(1.5);
    expect(s.max).toBeGreaterThan(1.4);
  });

  it('orthogonal_ gives orthonormal rows (wide) or columns (tall), times gain', () => {
    const wide = init.orthogonal_(k.empty([4, 9], { dtype: 'float64' }), 2);
    const rows = wide.matmul(wide.T).dataSync();
    const tall = init.orthogonal_(k.empty([9, 4], { dtype: 'float64' }));
    const cols = tall.T.matmul(tall).dataSync();
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        expect(rows[i * 4 + j]).toBeCloseTo(i === j ? 4 : 0, 10);
        expect(cols[i * 4 + j]).toBeCloseTo(i === j ? 1 : 0, 10);
      }
    }
  });

  it('constant_, ones_, zeros_ and eye_ fill as named', () => {
    expect(init.constant_(k.empty([3]), 2.5).toArraySync()).toEqual([2.5, 2.5, 2.5]);
    expect(init.ones_(k.empty([2])).toArraySync()).toEqual([1, 1]);
    expect(init.zeros_(k.ones([2])).toArraySync()).toEqual([0, 0]);
    expect(init.eye_(k.empty([2, 3])).toArraySync()).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
  });

  it('works on parameters without recording autograd', () => {
    const w = new nn.Linear(3, 3).weight;
    init.xavierUniform_(w);
    expect(w.gradFn).toBeNull();
    expect(w.requiresGrad).toBe(true);
  });

  it('is reproducible under manualSeed', () => {
    k.manualSeed(42);
    const a = new nn.Linear(5, 4).weight.dataSync();
    k.manualSeed(42);
    const b = new nn.Linear(5, 4).weight.dataSync();
    expect(a).toEqual(b);
  });
});

describe("PyTorch's default initialisation", () => {
  it('Linear: weight and bias uniform within 1/sqrt(in_features)', () => {
    const l = new nn.Linear(100, 300);
    const bound = 1 / Math.sqrt(100);
    const w = stats(l.weight);
    expect(w.max).toBeLessThanOrEqual(bound);
    expect(w.min).toBeGreaterThanOrEqual(-bound);
    expect(w.std).toBeCloseTo(bound / Math.sqrt(3), 3);
    const b = stats(l.bias!);
    expect(b.max).toBeLessThanOrEqual(bound);
    expect(b.min).toBeGreaterThanOrEqual(-bound);
  });

  it('Embedding: N(0, 1) with a zero padding row', () => {
    const e = new nn.Embedding(1000, 20, { paddingIdx: 3 });
    expect(stats(e.weight).std).toBeCloseTo(1, 1);
    expect(Array.from(e.weight.select(0, 3).dataSync() as Float32Array).every((v) => v === 0)).toBe(true);
  });

  it('norm layers: weight ones, bias zeros, running stats 0 and 1', () => {
    const bn = new nn.BatchNorm2d(4);
    expect(Array.from(bn.weight!.dataSync() as Float32Array)).toEqual([1, 1, 1, 1]);
    expect(Array.from(bn.bias!.dataSync() as Float32Array)).toEqual([0, 0, 0, 0]);
    expect(Array.from(bn.running_var!.dataSync() as Float32Array)).toEqual([1, 1, 1, 1]);
    expect(bn.num_batches_tracked!.itemSync()).toBe(0);
  });
});
