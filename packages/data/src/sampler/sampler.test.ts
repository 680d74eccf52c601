import { describe, expect, it } from 'vitest';
import { Random } from '../random/pcg32.js';
import { BatchSampler, RandomSampler, SequentialSampler, SubsetRandomSampler } from './sampler.js';

describe('samplers', () => {
  it("BatchSampler groups indices as PyTorch's documented example", () => {
    // list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
    //   -> [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]; with drop_last=True the [9] is dropped.
    expect([...new BatchSampler(new SequentialSampler(10), 3, false)]).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
      [9],
    ]);
    expect([...new BatchSampler(new SequentialSampler(10), 3, true)]).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
    ]);
    expect(new BatchSampler(new SequentialSampler(10), 3, false).length).toBe(4);
    expect(new BatchSampler(new SequentialSampler(10), 3, true).length).toBe(3);
    expect(() => new BatchSampler(new SequentialSampler(3), 0)).toThrow(
      'BatchSampler: batchSize should be a positive integer value, but got batchSize=0',
    );
  });

  it('RandomSampler: epoch e is Random(seed, e).permutation(n); iterating advances the epoch', () => {
    const s = new RandomSampler(12, { seed: 8 });
    expect([...s]).toEqual(new Random(8, 0).permutation(12));
    expect([...s]).toEqual(new Random(8, 1).permutation(12));
    s.setEpoch(0);
    expect([...s]).toEqual(new Random(8, 0).permutation(12));
    expect(() => s.setEpoch(-1)).toThrow('setEpoch: epoch must be a non-negative integer (got -1)');
  });

  it('RandomSampler without replacement and numSamples > n concatenates permutations', () => {
    const out = [...new RandomSampler(4, { seed: 1, numSamples: 10 })];
    expect(out).toHaveLength(10);
    expect(out.slice(0, 4).sort()).toEqual([0, 1, 2, 3]);
    expect(out.slice(4, 8).sort()).toEqual([0, 1, 2, 3]);
  });

  it('RandomSampler with replacement draws uniformly (chi-square, 4 dof, 0.999 quantile 18.47)', () => {
    const counts = new Array(5).fill(0);
    for (const i of new RandomSampler(5, { seed: 2, replacement: true, numSamples: 5000 })) counts[i]++;
    expect(counts.reduce((s, c) => s + (c - 1000) ** 2 / 1000, 0)).toBeLessThan(18.47);
  });

  it('SubsetRandomSampler permutes the given indices', () => {
    const out = [...new SubsetRandomSampler([10, 20, 30, 40], { seed: 3 })];
    expect([...out].sort()).toEqual([10, 20, 30, 40]);
  });
});
