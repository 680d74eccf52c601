// Map-style and iterable-style datasets, as in torch.utils.data. A map-style dataset is indexed
// (`length`, `get(i)`); an iterable-style one is a stream. `get` may return a promise, for samples
// that are read lazily (files, network); the DataLoader awaits it.

import type { Tensor } from '@kiln/core';
import * as k from '@kiln/core';

export abstract class Dataset<T> {
  abstract get length(): number;
  abstract get(index: number): T | Promise<T>;

  /**
   * Optional fast path, used by the DataLoader when it collates with `defaultCollate`: the batch
   * that `defaultCollate(indices.map(get))` would make, built directly (e.g. one indexSelect per
   * tensor instead of one view per sample and a stack). Subclasses that define it must keep that
   * equality.
   */
  getBatch?(indices: readonly number[]): unknown;

  /** A dataset whose samples are `fn(sample, index)`, computed on access (torchvision's `transform`). */
  map<U>(fn: (sample: T, index: number) => U): Dataset<Awaited<U>> {
    return new MappedDataset(this, fn);
  }

  /** A dataset over the elements of an array. */
  static from<T>(items: readonly T[]): Dataset<T> {
    return new ArrayDataset(items);
  }
}

/** Throws a RangeError unless `index` is an integer in [0, length). */
export function checkIndex(owner: string, index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new RangeError(`${owner}: index ${index} is out of range for a dataset of ${length} samples`);
  }
}

class ArrayDataset<T> extends Dataset<T> {
  constructor(private readonly items: readonly T[]) {
    super();
  }

  get length(): number {
    return this.items.length;
  }

  get(index: number): T {
    checkIndex('Dataset.from', index, this.items.length);
    return this.items[index];
  }
}

class MappedDataset<T, U> extends Dataset<Awaited<U>> {
  constructor(
    private readonly source: Dataset<T>,
    private readonly fn: (sample: T, index: number) => U,
  ) {
    super();
  }

  get length(): number {
    return this.source.length;
  }

  get(index: number): Awaited<U> | Promise<Awaited<U>> {
    const sample = this.source.get(index);
    if (sample instanceof Promise) return sample.then((s) => this.fn(s, index) as Awaited<U>);
    return this.fn(sample, index) as Awaited<U> | Promise<Awaited<U>>;
  }
}

/**
 * Rows of tensors that share their first dimension: sample i is `[t0[i], t1[i], ...]` (views).
 * `getBatch` gathers a whole batch with one indexSelect per tensor.
 */
export class TensorDataset<T extends Tensor[] = Tensor[]> extends Dataset<T> {
  readonly tensors: T;

  constructor(...tensors: T) {
    super();
    if (tensors.length === 0) throw new Error('TensorDataset: expected at least one tensor');
    tensors.forEach((t, i) => {
      if (t.ndim === 0)
        throw new Error(`TensorDataset: tensor ${i} is 0-d; each tensor needs a first (sample) dimension`);
      if (t.shape[0] !== tensors[0].shape[0]) {
        throw new Error(
          `TensorDataset: size mismatch between tensors: tensor 0 has ${tensors[0].shape[0]} samples ` +
            `(shape [${tensors[0].shape.join(', ')}]) but tensor ${i} has ${t.shape[0]} (shape [${t.shape.join(', ')}])`,
        );
      }
    });
    this.tensors = tensors;
  }

  get length(): number {
    return this.tensors[0].shape[0];
  }

  get(index: number): T {
    checkIndex('TensorDataset', index, this.length);
    return this.tensors.map((t) => t.select(0, index)) as T;
  }

  override getBatch(indices: readonly number[]): Tensor[] {
    for (const i of indices) checkIndex('TensorDataset', i, this.length);
    const byDevice = new Map<string, Tensor>();
    const out = this.tensors.map((t) => {
      let index = byDevice.get(t.device);
      if (!index) {
        index = k.tensor(Int32Array.from(indices), { device: t.device });
        byDevice.set(t.device, index);
      }
      return t.indexSelect(0, index);
    });
    for (const index of byDevice.values()) index.dispose();
    return out;
  }
}

/** The samples of `dataset` at `indices`, in that order. */
export class Subset<T> extends Dataset<T> {
  constructor(
    readonly dataset: Dataset<T>,
    readonly indices: readonly number[],
  ) {
    super();
    for (const i of indices) checkIndex('Subset', i, dataset.length);
    // The batch fast path exists only where the underlying dataset has one.
    const { getBatch } = dataset;
    if (typeof getBatch === 'function') {
      this.getBatch = (batch) => {
        for (const i of batch) checkIndex('Subset', i, this.indices.length);
        return getBatch.call(
          dataset,
          batch.map((i) => this.indices[i]),
        );
      };
    }
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): T | Promise<T> {
    checkIndex('Subset', index, this.indices.length);
    return this.dataset.get(this.indices[index]);
  }
}

/** Datasets one after another (torch.utils.data.ConcatDataset). */
export class ConcatDataset<T> extends Dataset<T> {
  /** cumulativeSizes[i] = total length of datasets 0..i. */
  readonly cumulativeSizes: readonly number[];

  constructor(readonly datasets: readonly Dataset<T>[]) {
    super();
    if (datasets.length === 0) throw new Error('ConcatDataset: datasets should not be an empty iterable');
    let total = 0;
    this.cumulativeSizes = datasets.map((d) => (total += d.length));
  }

  get length(): number {
    return this.cumulativeSizes[this.cumulativeSizes.length - 1];
  }

  get(index: number): T | Promise<T> {
    checkIndex('ConcatDataset', index, this.length);
    // First dataset whose cumulative size exceeds index (binary search).
    let lo = 0;
    let hi = this.cumulativeSizes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulativeSizes[mid] > index) hi = mid;
      else lo = mid + 1;
    }
    const start = lo === 0 ? 0 : this.cumulativeSizes[lo - 1];
    return this.datasets[lo].get(index - start);
  }
}

/**
 * An iterable-style dataset: a stream of samples with no random access (torch's IterableDataset).
 * Subclasses implement `[Symbol.asyncIterator]` (or use `IterableDataset.from`). A DataLoader over
 * one batches consecutive samples; shuffling and samplers do not apply.
 */
export abstract class IterableDataset<T> implements AsyncIterable<T> {
  abstract [Symbol.asyncIterator](): AsyncIterator<T>;

  /** Wraps a (sync or async) iterable, or a function that makes a fresh one for every pass. */
  static from<T>(
    source: Iterable<T> | AsyncIterable<T> | (() => Iterable<T> | AsyncIterable<T>),
  ): IterableDataset<T> {
    return new IterableSource(source);
  }
}

class IterableSource<T> extends IterableDataset<T> {
  constructor(
    private readonly source: Iterable<T> | AsyncIterable<T> | (() => Iterable<T> | AsyncIterable<T>),
  ) {
    super();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    const it = typeof this.source === 'function' ? this.source() : this.source;
    yield* it as AsyncIterable<T>;
  }
}
