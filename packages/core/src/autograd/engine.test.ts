// AccumulateGrad's ownership rule: a gradient the backward pass made, that no other tensor shares,
// becomes the leaf's .grad without a copy; anything else (a caller's tensor, one gradient reaching
// two leaves, a view, what a hook saw) is copied, so later in-place accumulation into one .grad
// never shows up anywhere else.
import { describe, expect, it, vi } from 'vitest';
import '../../../backend-cpu/src/index.js';
import { backendFor } from '../backend/registry.js';
import * as k from '../index.js';

const values = (t: k.Tensor | null) => Array.from(t!.dataSync() as Float32Array);

describe('AccumulateGrad ownership', () => {
  it('a gradient made by the pass is adopted without a copy', () => {
    const w = k.randn([4, 3], { requiresGrad: true });
    const x = k.randn([5, 4]);
    const y = x.matmul(w);
    const g = k.ones([5, 3]);
    const copy = vi.spyOn(backendFor('cpu'), 'copy');
    try {
      y.backward(g);
      // matmul's backward makes w's gradient; cloning it into .grad would be the pass's one copy.
      expect(copy).not.toHaveBeenCalled();
    } finally {
      copy.mockRestore();
    }
    const expected = x.transpose(0, 1).matmul(g);
    expect(values(w.grad)).toEqual(values(expected));
  });

  it('one gradient reaching two leaves gives each its own memory', () => {
    const a = k.randn([3], { requiresGrad: true });
    const b = k.randn([3], { requiresGrad: true });
    // add's backward hands the same tensor to both inputs.
    a.add(b).mul(2).sum().backward();
    expect(values(a.grad)).toEqual([2, 2, 2]);
    expect(values(b.grad)).toEqual([2, 2, 2]);
    a.grad!.add_(10);
    expect(values(b.grad)).toEqual([2, 2, 2]);
  });

  it("the caller's gradient tensor is never adopted", () => {
    const a = k.randn([3], { requiresGrad: true });
    const g = k.tensor([1, 2, 3]);
    // The identity backward passes g itself to a.
    a.add(0).backward(g);
    expect(values(a.grad)).toEqual([1, 2, 3]);
    g.fill_(7);
    expect(values(a.grad)).toEqual([1, 2, 3]);
    a.grad!.add_(1);
    expect(values(g)).toEqual([7, 7, 7]);
  });

  it('a gradient a hook saw is copied', () => {
    const a = k.randn([3], { requiresGrad: true });
    let seen: k.Tensor | null = null;
    a.registerHook((g) => {
      seen = g;
    });
    a.mul(3).sum().backward();
    expect(values(a.grad)).toEqual([3, 3, 3]);
    expect(seen).not.toBeNull();
    expect(a.grad).not.toBe(seen);
  });

  it('a second backward accumulates into the adopted gradient', () => {
    const w = k.randn([2, 2], { requiresGrad: true });
    const x = k.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'float32' },
    );
    x.matmul(w).sum().backward();
    const first = values(w.grad);
    x.matmul(w).sum().backward();
    expect(values(w.grad)).toEqual(first.map((v) => 2 * v));
  });
});
