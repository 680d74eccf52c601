// Ops whose backward hands a parameter its gradient in the parameter's own layout and memory, so
// that autograd adopts it as .grad instead of copying it: linear and matmul with a transposed weight
// (the [in, out] weights models keep and pass as `w.T`, tied embeddings), and layer norm's weight
// and bias.
import { afterEach, describe, expect, it, vi } from 'vitest';
import '../../../backend-cpu/src/index.js';
import { backendFor } from '../backend/registry.js';
import * as k from '../index.js';

const values = (t: k.Tensor | null) => Array.from(t!.dataSync() as Float32Array);
const close = (a: number[], b: number[]) => {
  for (const [i, v] of a.entries()) expect(v).toBeCloseTo(b[i], 5);
};

describe('parameter gradients in the parameter layout', () => {
  afterEach(() => vi.restoreAllMocks());

  it('linear with w.T: the [in, out] weight gets x^T g without a copy', () => {
    k.manualSeed(1);
    const w = k.randn([4, 3], { requiresGrad: true }); // [in, out]
    const b = k.randn([3], { requiresGrad: true });
    const x = k.randn([5, 4]);
    const g = k.randn([5, 3]);
    const y = k.linear(x, w.T, b);
    const copy = vi.spyOn(backendFor('cpu'), 'copy');
    y.backward(g);
    expect(copy).not.toHaveBeenCalled();
    close(values(w.grad), values(x.transpose(0, 1).matmul(g)));
    close(values(b.grad), values(g.sum(0)));
  });

  it('matmul of a batch by w.T (tied embeddings): one product, and w gets g^T x without a copy', () => {
    k.manualSeed(3);
    const w = k.randn([5, 4], { requiresGrad: true }); // [vocab, E], used as the output layer's w.T
    const x = k.randn([2, 3, 4]);
    const g = k.randn([2, 3, 5]);
    const matmul = vi.spyOn(backendFor('cpu'), 'matmul');
    const y = x.matmul(w.T);
    // The batch is folded into the rows: one [6, 4] x [4, 5] product, not two [3, 4] ones.
    expect(matmul.mock.calls.map((c) => c[0].shape)).toEqual([[1, 6, 4]]);
    const copy = vi.spyOn(backendFor('cpu'), 'copy');
    y.backward(g);
    expect(copy).not.toHaveBeenCalled();
    expect(w.grad!.strides).toEqual([4, 1]);
    close(values(w.grad), values(g.reshape(6, 5).transpose(0, 1).matmul(x.reshape(6, 4))));
  });

  it('layer norm: weight and bias gradients without a copy', () => {
    k.manualSeed(2);
    const weight = k.randn([6], { requiresGrad: true });
    const bias = k.randn([6], { requiresGrad: true });
    const x = k.randn([4, 6]);
    const g = k.randn([4, 6]);
    const y = k.layerNorm(x, [6], weight, bias);
    const copy = vi.spyOn(backendFor('cpu'), 'copy');
    y.backward(g);
    expect(copy).not.toHaveBeenCalled();
    const mu = x.mean(1, true);
    const xhat = x.sub(mu).div(x.sub(mu).square().mean(1, true).add(1e-5).sqrt());
    close(values(weight.grad), values(g.mul(xhat).sum(0)));
    close(values(bias.grad), values(g.sum(0)));
  });
});
