import '@kiln/backend-cpu';
import type { Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { describe, expect, it } from 'vitest';
import { defaultCollate } from './collate.js';

// The examples of torch.utils.data.default_collate's documentation, with Kiln's default dtypes
// (int32 for integers, float32 for other numbers, where PyTorch makes int64 / float64).
describe('defaultCollate (PyTorch default_collate semantics)', () => {
  it('numbers -> a tensor; integers int32, others float32', () => {
    // default_collate([0, 1, 2, 3]) -> tensor([0, 1, 2, 3])
    const ints = defaultCollate([0, 1, 2, 3]);
    expect(ints.dtype).toBe('int32');
    expect(ints.toArraySync()).toEqual([0, 1, 2, 3]);
    const floats = defaultCollate([0.5, 1]);
    expect(floats.dtype).toBe('float32');
    expect(defaultCollate([true, false]).dtype).toBe('bool');
  });

  it('strings stay a list', () => {
    // default_collate(['a', 'b', 'c']) -> ['a', 'b', 'c']
    expect(defaultCollate(['a', 'b', 'c'])).toEqual(['a', 'b', 'c']);
  });

  it('dicts are collated key by key', () => {
    // default_collate([{'A': 0, 'B': 1}, {'A': 100, 'B': 100}]) -> {'A': tensor([0, 100]), 'B': tensor([1, 100])}
    const b = defaultCollate([
      { A: 0, B: 1 },
      { A: 100, B: 100 },
    ]);
    expect(b.A.toArraySync()).toEqual([0, 100]);
    expect(b.B.toArraySync()).toEqual([1, 100]);
  });

  it('tuples and lists are transposed and collated position by position', () => {
    // default_collate([(0, 1), (2, 3)]) -> [tensor([0, 2]), tensor([1, 3])]; same for [[0, 1], [2, 3]]
    const b = defaultCollate([
      [0, 1],
      [2, 3],
    ] as [number, number][]);
    expect(b.map((t) => t.toArraySync())).toEqual([
      [0, 2],
      [1, 3],
    ]);
  });

  it('tensors are stacked on a new first dimension, recursively inside structures', () => {
    const samples = [0, 1, 2].map((i) => ({
      image: k.full([2, 2], i),
      label: i,
      meta: { id: `s${i}`, crop: [i, i + 1] },
    }));
    const b = defaultCollate(samples);
    expect(b.image.shape).toEqual([3, 2, 2]);
    expect((b.image as Tensor).select(0, 2).toArraySync()).toEqual([
      [2, 2],
      [2, 2],
    ]);
    expect(b.label.toArraySync()).toEqual([0, 1, 2]);
    expect(b.meta.id).toEqual(['s0', 's1', 's2']);
    expect(b.meta.crop.map((t) => t.toArraySync())).toEqual([
      [0, 1, 2],
      [1, 2, 3],
    ]);
  });

  it('typed arrays become [B, length] tensors of their dtype', () => {
    const b = defaultCollate([new Uint8Array([1, 2]), new Uint8Array([3, 4])]);
    expect(b.dtype).toBe('uint8');
    expect(b.toArraySync()).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('names the offending element in errors', () => {
    expect(() => defaultCollate([k.zeros([2]), k.zeros([3])])).toThrow(
      'defaultCollate: sample cannot be stacked: shape [2] in sample 0 but [3] in sample 1 (use padSequences or a custom collate)',
    );
    expect(() => defaultCollate([[1, 2], [3]])).toThrow(
      'defaultCollate: each element in list of batch should be of equal size',
    );
    expect(() => defaultCollate([{ x: 1 }, { y: 1 }])).toThrow(
      'defaultCollate: sample has keys {x} in sample 0 but {y} in sample 1',
    );
    expect(() => defaultCollate([{ x: 1 }, { x: 'a' }])).toThrow(
      'defaultCollate: sample.x is a number in sample 0 but a string in sample 1',
    );
    expect(() => defaultCollate([{ x: null }])).toThrow(
      'defaultCollate: sample.x is null; samples must contain tensors',
    );
    expect(() => defaultCollate([])).toThrow('defaultCollate: cannot collate an empty list of samples');
  });
});
