// Minibatches for language models from one long token-index corpus, the two schemes of d2l.ai
// section 9.3 ("Language Models"): seq_data_iter_random and seq_data_iter_sequential.
// X is a [batchSize, numSteps] window of the corpus and Y the same window shifted by one token.
// The random offset that starts each pass comes from the seeded Random, not core's RNG.

import type { Device, Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { epochRandom, Random, randomSeed, type Seed } from '../random/pcg32.js';

export interface LanguageModelBatchOptions {
  /** Generator for the offset and the shuffle (default: a fresh Random with a random seed). */
  rng?: Random;
  /** Tokens dropped at the start; default random, as in d2l (0..numSteps-1 for random sampling, 0..numSteps for sequential). */
  offset?: number;
  device?: Device;
}

function check(
  name: string,
  corpus: ArrayLike<number>,
  batchSize: number,
  numSteps: number,
  offset: number | undefined,
  maxOffset: number,
): void {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1)
    throw new RangeError(`${name}: batchSize must be a positive integer (got ${batchSize})`);
  if (!Number.isSafeInteger(numSteps) || numSteps < 1)
    throw new RangeError(`${name}: numSteps must be a positive integer (got ${numSteps})`);
  if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0 || offset > maxOffset)) {
    throw new RangeError(`${name}: offset must be an integer in [0, ${maxOffset}] (got ${offset})`);
  }
  if (corpus.length === 0) throw new RangeError(`${name}: the corpus is empty`);
}

function windows(
  corpus: ArrayLike<number>,
  starts: readonly number[],
  numSteps: number,
  shift: number,
  device: Device,
): Tensor {
  const out = new Int32Array(starts.length * numSteps);
  starts.forEach((s, b) => {
    for (let t = 0; t < numSteps; t++) out[b * numSteps + t] = corpus[s + shift + t];
  });
  return k.fromHost(out, [starts.length, numSteps], 'int32', device);
}

/**
 * Random sampling (d2l seq_data_iter_random): drop a random 0..numSteps-1 tokens, cut the rest
 * into non-overlapping subsequences of numSteps, shuffle them, and deal them out batchSize at a
 * time; adjacent batches are not adjacent in the corpus.
 */
export function* seqDataIterRandom(
  corpus: ArrayLike<number>,
  batchSize: number,
  numSteps: number,
  options: LanguageModelBatchOptions = {},
): Generator<[X: Tensor, Y: Tensor]> {
  check('seqDataIterRandom', corpus, batchSize, numSteps, options.offset, numSteps - 1);
  const rng = options.rng ?? new Random();
  const device = options.device ?? k.getDefaultDevice();
  const offset = options.offset ?? rng.int(numSteps);
  // Subsequence starts in the offset corpus; the last token is kept back as the final target.
  const numSubseqs = Math.floor((corpus.length - offset - 1) / numSteps);
  const starts = rng.shuffle(Array.from({ length: numSubseqs }, (_, i) => offset + i * numSteps));
  const numBatches = Math.floor(numSubseqs / batchSize);
  for (let i = 0; i < numBatches * batchSize; i += batchSize) {
    const batch = starts.slice(i, i + batchSize);
    yield [windows(corpus, batch, numSteps, 0, device), windows(corpus, batch, numSteps, 1, device)];
  }
}

/**
 * Sequential partitioning (d2l seq_data_iter_sequential): drop a random 0..numSteps tokens, lay the
 * rest out as batchSize rows, and walk the rows numSteps columns at a time, so row b of batch i+1
 * continues row b of batch i (the hidden state can be carried over).
 */
export function* seqDataIterSequential(
  corpus: ArrayLike<number>,
  batchSize: number,
  numSteps: number,
  options: LanguageModelBatchOptions = {},
): Generator<[X: Tensor, Y: Tensor]> {
  check('seqDataIterSequential', corpus, batchSize, numSteps, options.offset, numSteps);
  const rng = options.rng ?? new Random();
  const device = options.device ?? k.getDefaultDevice();
  const offset = options.offset ?? rng.int(numSteps + 1);
  const numTokens = Math.floor(Math.max(0, corpus.length - offset - 1) / batchSize) * batchSize;
  const rowLength = numTokens / batchSize;
  const numBatches = Math.floor(rowLength / numSteps);
  for (let i = 0; i < numSteps * numBatches; i += numSteps) {
    const starts = Array.from({ length: batchSize }, (_, b) => offset + b * rowLength + i);
    yield [windows(corpus, starts, numSteps, 0, device), windows(corpus, starts, numSteps, 1, device)];
  }
}

export interface LanguageModelLoaderOptions {
  batchSize: number;
  numSteps: number;
  /** 'random' (seqDataIterRandom, default) or 'sequential' (seqDataIterSequential). */
  sampling?: 'random' | 'sequential';
  /** Epoch e uses PCG32(seed, stream = e); default a random seed (see `seed`). */
  seed?: Seed;
  device?: Device;
}

/**
 * d2l's SeqDataLoader: iterate it once per epoch (with `for` or `for await`); each epoch draws a
 * new offset (and order) from (seed, epoch).
 */
export class LanguageModelLoader
  implements Iterable<[X: Tensor, Y: Tensor]>, AsyncIterable<[X: Tensor, Y: Tensor]>
{
  readonly seed: Seed;
  /** The epoch the next iteration uses. */
  epoch = 0;

  constructor(
    readonly corpus: ArrayLike<number>,
    readonly options: LanguageModelLoaderOptions,
  ) {
    this.seed = options.seed ?? randomSeed();
  }

  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  [Symbol.iterator](): Iterator<[X: Tensor, Y: Tensor]> {
    const { batchSize, numSteps, sampling = 'random', device } = this.options;
    const rng = epochRandom(this.seed, this.epoch++);
    const iterate = sampling === 'sequential' ? seqDataIterSequential : seqDataIterRandom;
    return iterate(this.corpus, batchSize, numSteps, { rng, device });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<[X: Tensor, Y: Tensor]> {
    yield* this[Symbol.iterator]() as Generator<[X: Tensor, Y: Tensor]>;
  }
}
