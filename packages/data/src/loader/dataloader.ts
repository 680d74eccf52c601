// DataLoader: batches of a dataset, iterated with `for await (const batch of loader)`.
//
// Each iteration of the loader is one epoch. With `shuffle`, epoch e visits the samples in the
// order of PCG32(seed, stream = e) (see random/pcg32.ts), so the order depends on nothing but the
// seed and the epoch: not on core's RNG, not on how many epochs ran before (`setEpoch` resumes).
//
// Memory: a batch is fetched and collated inside tidy(), so tensors that `get` or `collate` make
// along the way (per-sample views, transform intermediates) are disposed and only the batch
// survives; tensors the dataset holds are untouched. Batches belong to the caller (dispose them,
// or set `autoDispose` to have each one disposed when the loop asks for the next).
//
// JavaScript runs the dataset on the loop's own thread, so there are no worker processes;
// `prefetch` starts fetching the next batches before the current one is handed out, which overlaps
// asynchronous reads (files, network, GPU uploads) with the training step.
import * as k from '@kiln/core';
import type { Dataset, IterableDataset } from '../dataset/dataset.js';
import type { Seed } from '../random/pcg32.js';
import { BatchSampler, RandomSampler, type Sampler, SequentialSampler } from '../sampler/sampler.js';
import { type Collated, defaultCollate, disposeBatch } from './collate.js';

export interface DataLoaderOptions<S, B> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Visit the samples in a new random order every epoch (default false). */
  shuffle?: boolean;
  /** Seed for `shuffle`; when omitted a random one is drawn (read it back from `loader.seed`). */
  seed?: Seed;
  /** Drop the last batch when it would be smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Index order per epoch (excludes shuffle). */
  sampler?: Sampler<number>;
  /** Batches of indices per epoch (excludes batchSize, shuffle, sampler, dropLast). */
  batchSampler?: Sampler<number[]>;
  /** Samples -> batch; default `defaultCollate`. */
  collate?: (samples: S[]) => B;
  /** Batches fetched ahead of the one being consumed (default 0). */
  prefetch?: number;
  /** Dispose each batch's tensors when the next one is requested and when the loop ends (default false). */
  autoDispose?: boolean;
}

type AnyDataset<S> = Dataset<S> | IterableDataset<S> | AsyncIterable<S> | Iterable<S>;

function isMapStyle<S>(ds: AnyDataset<S>): ds is Dataset<S> {
  return typeof (ds as Dataset<S>).get === 'function' && typeof (ds as Dataset<S>).length === 'number';
}

function optionError(message: string): Error {
  return new Error(`DataLoader: ${message}`);
}

export class DataLoader<S, B = Collated<S>> implements AsyncIterable<B> {
  readonly dataset: AnyDataset<S>;
  readonly batchSize: number;
  readonly dropLast: boolean;
  readonly prefetch: number;
  readonly autoDispose: boolean;
  /** The batches of indices of a map-style dataset; undefined for an iterable-style one. */
  readonly batchSampler: Sampler<number[]> | undefined;
  private readonly collate: (samples: S[]) => B;
  private readonly usesDefaultCollate: boolean;

  constructor(dataset: AnyDataset<S>, options: DataLoaderOptions<S, B> = {}) {
    const { shuffle = false, sampler, batchSampler } = options;
    this.dataset = dataset;
    this.batchSize = options.batchSize ?? 1;
    this.dropLast = options.dropLast ?? false;
    this.prefetch = options.prefetch ?? 0;
    this.autoDispose = options.autoDispose ?? false;
    this.usesDefaultCollate = options.collate === undefined;
    this.collate = options.collate ?? (defaultCollate as unknown as (samples: S[]) => B);
    if (!Number.isSafeInteger(this.batchSize) || this.batchSize < 1) {
      throw optionError(
        `batchSize should be a positive integer value, but got batchSize=${options.batchSize}`,
      );
    }
    if (!Number.isSafeInteger(this.prefetch) || this.prefetch < 0) {
      throw optionError(`prefetch must be a non-negative integer (got ${options.prefetch})`);
    }
    if (shuffle && sampler) throw optionError('sampler option is mutually exclusive with shuffle');
    if (batchSampler && (options.batchSize !== undefined || shuffle || sampler || options.dropLast)) {
      throw optionError(
        'batchSampler option is mutually exclusive with batchSize, shuffle, sampler, and dropLast',
      );
    }

    if (!isMapStyle(dataset)) {
      if (shuffle || sampler || batchSampler || options.seed !== undefined) {
        throw optionError(
          'an iterable-style dataset has no indices, so shuffle, seed, sampler and batchSampler do not apply ' +
            '(shuffle the stream itself, or use a map-style Dataset)',
        );
      }
      this.batchSampler = undefined;
      return;
    }
    const indexSampler =
      sampler ??
      (shuffle
        ? new RandomSampler(dataset.length, { seed: options.seed })
        : new SequentialSampler(dataset.length));
    this.batchSampler = batchSampler ?? new BatchSampler(indexSampler, this.batchSize, this.dropLast);
  }

  /** The shuffle seed in use (drawn at random when none was given); undefined without shuffle. */
  get seed(): Seed | undefined {
    const inner = this.batchSampler instanceof BatchSampler ? this.batchSampler.sampler : this.batchSampler;
    return inner instanceof RandomSampler ? inner.seed : undefined;
  }

  /** Batches per epoch (len(loader)). An iterable-style dataset must expose `length` for this. */
  get length(): number {
    if (this.batchSampler) return this.batchSampler.length;
    const n = (this.dataset as { length?: unknown }).length;
    if (typeof n !== 'number') {
      throw new TypeError(
        'DataLoader: this iterable-style dataset has no length, so the number of batches is unknown',
      );
    }
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Sets the epoch the next iteration draws its order for (to resume a run at epoch e). */
  setEpoch(epoch: number): void {
    this.batchSampler?.setEpoch?.(epoch);
  }

  [Symbol.asyncIterator](): AsyncIterator<B> {
    const batches = this.batchSampler ? this.mapStyleBatches(this.batchSampler) : this.iterableBatches();
    return this.autoDispose ? disposingPrevious(batches) : batches;
  }

  /** One epoch over a map-style dataset, keeping up to `prefetch` batches in flight. */
  private async *mapStyleBatches(batchSampler: Sampler<number[]>): AsyncGenerator<B> {
    const indices = batchSampler[Symbol.iterator]();
    const inFlight: Promise<B>[] = [];
    // While the caller works on one batch, `prefetch` more are being fetched.
    const fill = () => {
      while (inFlight.length <= this.prefetch) {
        const next = indices.next();
        if (next.done) return;
        const batch = this.fetch(next.value);
        // A prefetched batch may fail before it is awaited; the error surfaces when it is.
        batch.catch(() => undefined);
        inFlight.push(batch);
      }
    };
    try {
      for (fill(); inFlight.length > 0; fill()) {
        const batch = await inFlight.shift()!;
        yield batch;
      }
    } finally {
      // The loop ended early (break, throw): batches fetched ahead were never handed out.
      for (const pending of inFlight.splice(0)) pending.then(disposeBatch, () => undefined);
    }
  }

  /** Fetches and collates one batch in a tidy scope; a failure becomes a rejected promise, met in order. */
  private fetch(indices: number[]): Promise<B> {
    const ds = this.dataset as Dataset<S>;
    try {
      if (this.usesDefaultCollate && typeof ds.getBatch === 'function') {
        return Promise.resolve(k.tidy(() => ds.getBatch!(indices) as B));
      }
      return Promise.resolve(
        k.tidy(() => {
          const samples = indices.map((i) => ds.get(i));
          if (!samples.some((s) => s instanceof Promise)) return this.collate(samples as S[]);
          // The scope stays open until the samples arrive and are collated.
          return Promise.all(samples).then((s) => this.collate(s));
        }),
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** One pass over an iterable-style dataset, in batches of consecutive samples. */
  private async *iterableBatches(): AsyncGenerator<B> {
    let samples: S[] = [];
    for await (const sample of this.dataset as AsyncIterable<S>) {
      samples.push(sample);
      if (samples.length === this.batchSize) {
        const full = samples;
        samples = [];
        yield k.tidy(() => this.collate(full));
      }
    }
    if (samples.length > 0 && !this.dropLast) yield k.tidy(() => this.collate(samples));
  }
}

/** Disposes each batch when the next is requested, and the last when the loop ends. */
async function* disposingPrevious<B>(batches: AsyncGenerator<B>): AsyncGenerator<B> {
  let previous: B | undefined;
  try {
    for await (const batch of batches) {
      if (previous !== undefined) disposeBatch(previous);
      previous = batch;
      yield batch;
    }
  } finally {
    if (previous !== undefined) disposeBatch(previous);
  }
}
