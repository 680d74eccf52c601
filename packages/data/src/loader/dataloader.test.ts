import '@kiln/backend-cpu';
import type { Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { describe, expect, it } from 'vitest';
import { Dataset, IterableDataset, TensorDataset } from '../dataset/dataset.js';
import { Random } from '../random/pcg32.js';
import { BatchSampler, SequentialSampler } from '../sampler/sampler.js';
import { defaultCollate, disposeBatch } from './collate.js';
import { DataLoader } from './dataloader.js';

/** Sample i is the number i: batches are then int32 tensors of indices. */
const indexDataset = (n: number) => Dataset.from(Array.from({ length: n }, (_, i) => i));

async function epochOrder(loader: DataLoader<number, Tensor>): Promise<number[][]> {
  const batches: number[][] = [];
  for await (const batch of loader) {
    batches.push(Array.from(batch.dataSync() as ArrayLike<number>));
    batch.dispose();
  }
  return batches;
}

describe('DataLoader: order', () => {
  it('visits every sample exactly once per shuffled epoch, in batches of batchSize and a short last one', async () => {
    const loader = new DataLoader(indexDataset(50), { batchSize: 8, shuffle: true, seed: 3 });
    for (let epoch = 0; epoch < 3; epoch++) {
      const batches = await epochOrder(loader);
      expect(batches.map((b) => b.length)).toEqual([8, 8, 8, 8, 8, 8, 2]);
      expect(batches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    }
    expect(loader.length).toBe(7);
  });

  it('repeats the order for the same seed and epoch, and changes it for another epoch or seed', async () => {
    const a = new DataLoader(indexDataset(40), { batchSize: 5, shuffle: true, seed: 11 });
    const b = new DataLoader(indexDataset(40), { batchSize: 5, shuffle: true, seed: 11 });
    const c = new DataLoader(indexDataset(40), { batchSize: 5, shuffle: true, seed: 12 });
    const a0 = (await epochOrder(a)).flat();
    const a1 = (await epochOrder(a)).flat();
    expect((await epochOrder(b)).flat()).toEqual(a0);
    expect((await epochOrder(b)).flat()).toEqual(a1);
    expect(a1).not.toEqual(a0);
    expect((await epochOrder(c)).flat()).not.toEqual(a0);
  });

  it('draws epoch e from PCG32(seed, stream e): the order is Random(seed, e).permutation(n)', async () => {
    const loader = new DataLoader(indexDataset(30), { batchSize: 30, shuffle: true, seed: 99 });
    for (let e = 0; e < 3; e++)
      expect((await epochOrder(loader))[0]).toEqual(new Random(99, e).permutation(30));
  });

  it('does not depend on core RNG state', async () => {
    const orderAfter = async (seed: number) => {
      k.manualSeed(seed);
      k.rand([100]).dispose();
      return (
        await epochOrder(new DataLoader(indexDataset(25), { batchSize: 25, shuffle: true, seed: 5 }))
      )[0];
    };
    expect(await orderAfter(1)).toEqual(await orderAfter(2));
  });

  it('resumes at any epoch with setEpoch', async () => {
    const loader = new DataLoader(indexDataset(20), { batchSize: 4, shuffle: true, seed: 1 });
    await epochOrder(loader);
    await epochOrder(loader);
    const third = await epochOrder(loader);
    const resumed = new DataLoader(indexDataset(20), { batchSize: 4, shuffle: true, seed: 1 });
    resumed.setEpoch(2);
    expect(await epochOrder(resumed)).toEqual(third);
  });

  it('keeps the dataset order without shuffle, and drops the short batch with dropLast', async () => {
    const loader = new DataLoader(indexDataset(10), { batchSize: 4, dropLast: true });
    expect(await epochOrder(loader)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(loader.length).toBe(2);
    expect(loader.seed).toBeUndefined();
  });

  it('draws and exposes a seed when shuffle has none', () => {
    const loader = new DataLoader(indexDataset(10), { shuffle: true });
    expect(Number.isSafeInteger(loader.seed)).toBe(true);
  });

  it('takes an explicit batchSampler', async () => {
    const loader = new DataLoader(indexDataset(6), {
      batchSampler: new BatchSampler(new SequentialSampler(6), 4),
    });
    expect(await epochOrder(loader)).toEqual([
      [0, 1, 2, 3],
      [4, 5],
    ]);
  });
});

describe('DataLoader: batches', () => {
  it('collates a TensorDataset into stacked [x, y] batches; the indexSelect fast path equals stacking samples', async () => {
    const x = k.arange(24).reshape(12, 2).float();
    const y = k.arange(12);
    const ds = new TensorDataset(x, y);
    const fast = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 4 });
    const slow = new DataLoader(ds, { batchSize: 5, shuffle: true, seed: 4, collate: defaultCollate });
    const fastBatches = [];
    for await (const [xb, yb] of fast)
      fastBatches.push([xb.toArraySync(), yb.toArraySync(), xb.dtype, yb.dtype]);
    const slowBatches = [];
    for await (const [xb, yb] of slow)
      slowBatches.push([xb.toArraySync(), yb.toArraySync(), xb.dtype, yb.dtype]);
    expect(fastBatches).toEqual(slowBatches);
    expect(fastBatches[0][2]).toBe('float32');
    expect(fastBatches[0][3]).toBe('int32');
    // Row i of x is [2i, 2i+1] and y is i: the pairs stay aligned after shuffling.
    for (const [xs, ys] of fastBatches as [number[][], number[]][])
      for (const [j, row] of xs.entries()) expect(row).toEqual([2 * ys[j], 2 * ys[j] + 1]);
  });

  it('passes samples to a custom collate', async () => {
    const loader = new DataLoader(Dataset.from(['a', 'b', 'c']), {
      batchSize: 2,
      collate: (s) => s.join(''),
    });
    const out: string[] = [];
    for await (const b of loader) out.push(b);
    expect(out).toEqual(['ab', 'c']);
  });

  it('awaits asynchronous samples and keeps batch order with prefetch', async () => {
    class Slow extends Dataset<number> {
      get length() {
        return 12;
      }
      async get(i: number) {
        await new Promise((r) => setTimeout(r, (12 - i) % 4));
        return i;
      }
    }
    const loader = new DataLoader(new Slow(), { batchSize: 3, prefetch: 2 });
    expect(await epochOrder(loader as DataLoader<number, Tensor>)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8],
      [9, 10, 11],
    ]);
  });

  it('batches an iterable-style dataset in stream order and rejects shuffle for it', async () => {
    const stream = IterableDataset.from(() => [1, 2, 3, 4, 5][Symbol.iterator]());
    const batches: number[][] = [];
    for await (const b of new DataLoader(stream, { batchSize: 2 }))
      batches.push(Array.from(b.dataSync() as ArrayLike<number>));
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
    expect(() => new DataLoader(stream, { shuffle: true })).toThrow(/iterable-style dataset has no indices/);
  });

  it('reports bad options by name', () => {
    const ds = indexDataset(4);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(
      'DataLoader: batchSize should be a positive integer value, but got batchSize=0',
    );
    expect(() => new DataLoader(ds, { shuffle: true, sampler: new SequentialSampler(4) })).toThrow(
      /mutually exclusive with shuffle/,
    );
    expect(
      () => new DataLoader(ds, { batchSize: 2, batchSampler: new BatchSampler(new SequentialSampler(4), 2) }),
    ).toThrow(/batchSampler option is mutually exclusive/);
  });

  it('surfaces an error from get() at the batch that failed, after the earlier batches', async () => {
    class Failing extends Dataset<number> {
      get length() {
        return 6;
      }
      get(i: number) {
        if (i === 4) throw new Error('cannot read sample 4');
        return i;
      }
    }
    const seen: number[][] = [];
    const run = async () => {
      for await (const b of new DataLoader(new Failing(), { batchSize: 2, prefetch: 2 }))
        seen.push(Array.from((b as Tensor).dataSync() as ArrayLike<number>));
    };
    await expect(run()).rejects.toThrow('cannot read sample 4');
    expect(seen).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });
});

describe('DataLoader: memory', () => {
  it('disposes what get() and transforms make, keeps the dataset, and with autoDispose leaves memory flat', async () => {
    const x = k.randn([20, 3]);
    const ds = new TensorDataset(x).map(([row]) => row.mul(2).add(1));
    const before = k.memory().tensors;
    const loader = new DataLoader(ds, { batchSize: 6, shuffle: true, seed: 0, autoDispose: true });
    for (let epoch = 0; epoch < 2; epoch++) {
      for await (const batch of loader) {
        expect(batch.shape[1]).toBe(3);
        // Only the batch itself is alive during the step.
        expect(k.memory().tensors).toBe(before + 1);
      }
      expect(k.memory().tensors).toBe(before);
    }
    expect(x.isDisposed).toBe(false);
  });

  it('disposes batches fetched ahead when the loop breaks early', async () => {
    const ds = new TensorDataset(k.randn([40, 2]), k.arange(40));
    const before = k.memory().tensors;
    for await (const batch of new DataLoader(ds, { batchSize: 4, prefetch: 3 })) {
      disposeBatch(batch);
      break;
    }
    await new Promise((r) => setTimeout(r, 0));
    expect(k.memory().tensors).toBe(before);
  });
});
