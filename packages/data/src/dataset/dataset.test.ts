import '@kiln/backend-cpu';
import type { Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { describe, expect, it } from 'vitest';
import { Random } from '../random/pcg32.js';
import { ConcatDataset, Dataset, Subset, TensorDataset } from './dataset.js';
import { randomSplit } from './random-split.js';

const all = <T>(ds: Dataset<T>) => Array.from({ length: ds.length }, (_, i) => ds.get(i) as T);

describe('TensorDataset', () => {
  it('returns row i of every tensor, and checks that they agree on the number of samples', () => {
    const ds = new TensorDataset(k.arange(6).reshape(3, 2), k.tensor([7, 8, 9]));
    expect(ds.length).toBe(3);
    const [x, y] = ds.get(1);
    expect(x.toArraySync()).toEqual([2, 3]);
    expect(y.itemSync()).toBe(8);
    expect(() => new TensorDataset(k.zeros([3, 2]), k.zeros([4]))).toThrow(
      'TensorDataset: size mismatch between tensors: tensor 0 has 3 samples (shape [3, 2]) but tensor 1 has 4 (shape [4])',
    );
    expect(() => ds.get(3)).toThrow('TensorDataset: index 3 is out of range for a dataset of 3 samples');
  });

  it('getBatch equals stacking the samples', () => {
    const ds = new TensorDataset(k.randn([10, 3]), k.arange(10));
    const indices = [7, 2, 2, 9];
    const [xb, yb] = ds.getBatch(indices);
    expect(xb.toArraySync()).toEqual(k.stack(indices.map((i) => ds.get(i)[0])).toArraySync());
    expect(yb.toArraySync()).toEqual(indices);
  });
});

describe('Subset, ConcatDataset, map', () => {
  it('Subset reads through its indices and keeps the batch fast path only when the dataset has one', () => {
    const base = new TensorDataset(k.arange(10));
    const sub = new Subset(base, [9, 0, 5]);
    expect(all(sub).map(([t]) => (t as Tensor).itemSync())).toEqual([9, 0, 5]);
    expect((sub.getBatch!([2, 0]) as Tensor[])[0].toArraySync()).toEqual([5, 9]);
    expect(new Subset(Dataset.from([1, 2, 3]), [0]).getBatch).toBeUndefined();
    expect(() => new Subset(base, [10])).toThrow(
      'Subset: index 10 is out of range for a dataset of 10 samples',
    );
  });

  it('ConcatDataset indexes across its parts', () => {
    const ds = new ConcatDataset([Dataset.from(['a', 'b']), Dataset.from([]), Dataset.from(['c', 'd', 'e'])]);
    expect(ds.length).toBe(5);
    expect(ds.cumulativeSizes).toEqual([2, 2, 5]);
    expect(all(ds)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('map transforms samples on access', () => {
    expect(all(Dataset.from([1, 2, 3]).map((x, i) => x * 10 + i))).toEqual([10, 21, 32]);
  });
});

describe('randomSplit', () => {
  it('splits fractions as PyTorch: floor(n * f), then the remainder one by one from the first', () => {
    // PyTorch: random_split(range(30), [0.3, 0.3, 0.4]) -> lengths 9, 9, 12;
    // 11 samples in [0.5, 0.5] -> floor 5 + 5, remainder 1 to the first: 6, 5;
    // 10 samples in thirds -> 3, 3, 3, remainder 1: 4, 3, 3.
    const lengths = (n: number, f: number[]) =>
      randomSplit(Dataset.from(Array.from({ length: n }, (_, i) => i)), f, { seed: 0 }).map((s) => s.length);
    expect(lengths(30, [0.3, 0.3, 0.4])).toEqual([9, 9, 12]);
    expect(lengths(11, [0.5, 0.5])).toEqual([6, 5]);
    expect(lengths(10, [1 / 3, 1 / 3, 1 / 3])).toEqual([4, 3, 3]);
    expect(lengths(10, [0.1, 0.2, 0.7])).toEqual([1, 2, 7]);
    expect(lengths(10, [7, 3])).toEqual([7, 3]);
  });

  it('gives disjoint subsets covering the dataset, in the order of Random(seed).permutation(n)', () => {
    const ds = Dataset.from(Array.from({ length: 20 }, (_, i) => i));
    const [a, b] = randomSplit(ds, [0.8, 0.2], { seed: 42 });
    const perm = new Random(42).permutation(20);
    expect(a.indices).toEqual(perm.slice(0, 16));
    expect(b.indices).toEqual(perm.slice(16));
    expect(randomSplit(ds, [0.8, 0.2], { seed: 42 })[1].indices).toEqual(b.indices);
    expect(randomSplit(ds, [0.8, 0.2], { seed: 43 })[1].indices).not.toEqual(b.indices);
  });

  it('rejects lengths that do not add up', () => {
    const ds = Dataset.from([1, 2, 3]);
    expect(() => randomSplit(ds, [2, 2])).toThrow(
      'randomSplit: sum of input lengths (4) does not equal the length of the input dataset (3)',
    );
    expect(() => randomSplit(ds, [0.5, 0.2])).toThrow(
      'randomSplit: lengths must be integers, or fractions that sum to 1',
    );
  });
});
