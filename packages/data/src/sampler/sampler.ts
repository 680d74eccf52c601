// Samplers decide the order of indices in an epoch (torch.utils.data.Sampler). Iterating a sampler
// is one epoch; seeded samplers draw epoch e's order from PCG32(seed, stream = e), so an order is a
// function of (seed, epoch) alone. Each new iteration moves to the next epoch; `setEpoch` sets it
// explicitly (to resume, or to keep several samplers in step).
import { epochRandom, type Random, randomSeed, type Seed } from '../random/pcg32.js';

export interface Sampler<T = number> extends Iterable<T> {
  /** Items one epoch yields. */
  readonly length: number;
  /** Sets the epoch the next iteration draws its order for. */
  setEpoch?(epoch: number): void;
}

function checkEpoch(epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0)
    throw new RangeError(`setEpoch: epoch must be a non-negative integer (got ${epoch})`);
}

function checkCount(owner: string, what: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`${owner}: ${what} must be a non-negative integer (got ${n})`);
}

/** 0, 1, ..., n-1 in order. */
export class SequentialSampler implements Sampler<number> {
  constructor(readonly length: number) {
    checkCount('SequentialSampler', 'length', length);
  }

  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.length; i++) yield i;
  }
}

/** Base for samplers whose order depends on (seed, epoch). */
abstract class SeededSampler<T> implements Sampler<T> {
  /** The seed in use: the given one, or the random one drawn at construction (log it to reproduce a run). */
  readonly seed: Seed;
  /** The epoch the next iteration will use. */
  epoch = 0;

  constructor(seed: Seed | undefined) {
    this.seed = seed ?? randomSeed();
  }

  abstract get length(): number;

  setEpoch(epoch: number): void {
    checkEpoch(epoch);
    this.epoch = epoch;
  }

  [Symbol.iterator](): Iterator<T> {
    const rng = epochRandom(this.seed, this.epoch);
    this.epoch += 1;
    return this.draw(rng);
  }

  protected abstract draw(rng: Random): Iterator<T>;
}

export interface RandomSamplerOptions {
  seed?: Seed;
  /** Draw with replacement (then `numSamples` may exceed the dataset). Default false. */
  replacement?: boolean;
  /** Indices per epoch; default: the dataset's length. */
  numSamples?: number;
}

/**
 * A random order of 0 .. n-1 each epoch (a permutation, or with `replacement` independent uniform
 * draws). Without replacement and with numSamples > n, as in PyTorch, whole permutations are
 * concatenated and the last one cut short.
 */
export class RandomSampler extends SeededSampler<number> {
  readonly replacement: boolean;
  readonly numSamples: number;

  constructor(
    readonly size: number,
    options: RandomSamplerOptions = {},
  ) {
    super(options.seed);
    checkCount('RandomSampler', 'dataset length', size);
    this.replacement = options.replacement ?? false;
    this.numSamples = options.numSamples ?? size;
    checkCount('RandomSampler', 'numSamples', this.numSamples);
    if (size === 0 && this.numSamples > 0)
      throw new RangeError('RandomSampler: cannot draw samples from an empty dataset');
  }

  get length(): number {
    return this.numSamples;
  }

  protected *draw(rng: Random): Iterator<number> {
    if (this.replacement) {
      for (let i = 0; i < this.numSamples; i++) yield rng.int(this.size);
      return;
    }
    let left = this.numSamples;
    while (left > 0) {
      const perm = rng.permutation(this.size);
      for (let i = 0; i < perm.length && left > 0; i++, left--) yield perm[i];
    }
  }
}

/** A random order of the given indices each epoch (torch's SubsetRandomSampler). */
export class SubsetRandomSampler extends SeededSampler<number> {
  constructor(
    readonly indices: readonly number[],
    options: { seed?: Seed } = {},
  ) {
    super(options.seed);
  }

  get length(): number {
    return this.indices.length;
  }

  protected *draw(rng: Random): Iterator<number> {
    for (const i of rng.permutation(this.indices.length)) yield this.indices[i];
  }
}

/** Groups another sampler's indices into batches of `batchSize`; the last may be short unless `dropLast`. */
export class BatchSampler implements Sampler<number[]> {
  constructor(
    readonly sampler: Sampler<number>,
    readonly batchSize: number,
    readonly dropLast = false,
  ) {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new RangeError(
        `BatchSampler: batchSize should be a positive integer value, but got batchSize=${batchSize}`,
      );
    }
  }

  get length(): number {
    const n = this.sampler.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  setEpoch(epoch: number): void {
    checkEpoch(epoch);
    this.sampler.setEpoch?.(epoch);
  }

  *[Symbol.iterator](): Iterator<number[]> {
    let batch: number[] = [];
    for (const i of this.sampler) {
      batch.push(i);
      if (batch.length === this.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0 && !this.dropLast) yield batch;
  }
}
