// torch.utils.data.random_split: disjoint random subsets of given lengths or fractions.
import { Random, type Seed } from '../random/pcg32.js';
import { type Dataset, Subset } from './dataset.js';

export interface RandomSplitOptions {
  /** Seed of the permutation (PCG32, stream 0); a fresh random seed when omitted. */
  seed?: Seed;
}

/**
 * Splits `dataset` into disjoint Subsets. `lengths` are sample counts summing to the dataset's
 * length, or fractions summing to 1: as in PyTorch, each fraction gets floor(n * f) samples and the
 * remainder is handed out one at a time round-robin from the first subset.
 */
export function randomSplit<T>(
  dataset: Dataset<T>,
  lengths: readonly number[],
  options: RandomSplitOptions = {},
): Subset<T>[] {
  const n = dataset.length;
  if (lengths.length === 0) throw new Error('randomSplit: lengths must not be empty');
  if (lengths.some((l) => !(l >= 0)))
    throw new Error(`randomSplit: lengths must be non-negative (got [${lengths.join(', ')}])`);
  let counts = [...lengths];
  const total = lengths.reduce((a, b) => a + b, 0);
  // PyTorch's test is isclose(sum, 1) and sum <= 1; the sum is allowed to round up by 1e-9 here so that
  // [0.1, 0.2, 0.7] (which sums to 1.0000000000000002 in floating point) is accepted too.
  if (Math.abs(total - 1) <= 1e-9) {
    counts = lengths.map((f) => Math.floor(n * f));
    const remainder = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) counts[i % counts.length] += 1;
  } else if (counts.some((c) => !Number.isInteger(c))) {
    throw new Error(
      `randomSplit: lengths must be integers, or fractions that sum to 1 (got [${lengths.join(', ')}])`,
    );
  }
  const sum = counts.reduce((a, b) => a + b, 0);
  if (sum !== n) {
    throw new Error(
      `randomSplit: sum of input lengths (${sum}) does not equal the length of the input dataset (${n})`,
    );
  }
  const order = new Random(options.seed).permutation(n);
  let start = 0;
  return counts.map((c) => {
    const subset = new Subset(dataset, order.slice(start, start + c));
    start += c;
    return subset;
  });
}
