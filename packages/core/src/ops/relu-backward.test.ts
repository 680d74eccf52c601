// ReLU's backward runs as one kernel (reluBackward: g where y > 0, else 0). Its own backward, for
// gradients of gradients, is checked here against the closed form: for f = sum(relu(x) * w),
// df/dx = w * (x > 0), and d/dw of sum(df/dx * c) = c * (x > 0).
import { describe, expect, it } from 'vitest';
import '../../../backend-cpu/src/index.js';
import * as k from '../index.js';

const values = (t: k.Tensor | null) => Array.from(t!.dataSync() as Float32Array);

describe('reluBackward', () => {
  it('is differentiable in the incoming gradient (create_graph)', () => {
    const x = k.tensor([-2, -0.5, 0, 0.5, 3], { dtype: 'float32', requiresGrad: true });
    const w = k.tensor([1.5, -2, 3, -4, 0.25], { dtype: 'float32', requiresGrad: true });
    const c = k.tensor([2, 3, 5, 7, 11], { dtype: 'float32' });
    const [gx] = k.grad(x.relu().mul(w).sum(), x, { createGraph: true });
    expect(values(gx)).toEqual([0, 0, 0, -4, 0.25]);
    const [gw] = k.grad(gx!.mul(c).sum(), w);
    expect(values(gw)).toEqual([0, 0, 0, 7, 11]);
  });

  it('matches the mask-and-select form on the fused linear path too', () => {
    k.manualSeed(3);
    const x = k.randn([6, 4], { requiresGrad: true });
    const weight = k.randn([5, 4], { requiresGrad: true });
    const bias = k.randn([5], { requiresGrad: true });
    const g = k.randn([6, 5]);
    k.linear(x, weight, bias, 'relu').backward(g);
    const pre = x.detach().matmul(weight.detach().transpose(0, 1)).add(bias.detach());
    const gz = k.where(k.gt(pre, 0), g, 0);
    const close = (a: number[], b: number[]) => {
      for (const [i, v] of a.entries()) expect(v).toBeCloseTo(b[i], 5);
    };
    close(values(weight.grad), values(gz.transpose(0, 1).matmul(x.detach())));
    close(values(bias.grad), values(gz.sum(0)));
    close(values(x.grad), values(gz.matmul(weight.detach())));
  });
});
