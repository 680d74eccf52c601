import { describe, expect, it } from 'vitest';
import './index.js';
import * as k from '@kiln/core';

describe('smoke', () => {
  it('adds and differentiates', () => {
    const x = k.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'float32', requiresGrad: true },
    );
    const y = x.mul(x).sum();
    y.backward();
    expect(y.itemSync()).toBe(30);
    expect(x.grad!.toArraySync()).toEqual([
      [2, 4],
      [6, 8],
    ]);
    console.log(x.toString(), y.toString());
  });
  it('higher order', () => {
    const x = k.tensor([1], { dtype: 'float32', requiresGrad: true });
    const y = x.pow(3).sum();
    const [g] = k.grad(y, x, { createGraph: true });
    const [g2] = k.grad(g!.sum(), x);
    expect(g2!.toArraySync()).toEqual([6]);
  });
  it('matmul', () => {
    const a = k.randn([3, 4]);
    const b = k.randn([4, 5]);
    const c = a.matmul(b);
    expect(c.shape).toEqual([3, 5]);
    console.log(c.toString());
  });
});
