import { Encoding } from './encoding.js';

export type TruncationStrategy = 'longest_first' | 'only_first' | 'only_second';
export type Direction = 'left' | 'right';

export interface TruncationParams {
  maxLength: number;
  strategy: TruncationStrategy;
  direction: Direction;
  /** Tokens of overlap between an encoding and its overflowing windows. */
  stride: number;
}

/**
 * Cuts one sequence to `maxLength` tokens (HF `Encoding::truncate`): the kept part is the first
 * window, the rest becomes overflowing windows that overlap by `stride` tokens.
 */
export function truncateEncoding(
  enc: Encoding,
  maxLength: number,
  stride: number,
  direction: Direction,
): Encoding {
  const total = enc.length;
  if (maxLength >= total) return enc;
  if (maxLength === 0) return new Encoding({ ...enc.slice(0, 0).fields(), overflowing: [enc] });
  if (stride >= maxLength) {
    throw new Error(`truncation: stride (${stride}) must be smaller than maxLength (${maxLength})`);
  }
  const step = maxLength - stride;
  const windows: Array<[number, number]> = [];
  if (direction === 'right') {
    for (let start = 0; ; start += step) {
      const stop = Math.min(start + maxLength, total);
      windows.push([start, stop]);
      if (stop === total) break;
    }
  } else {
    for (let stop = total; ; stop -= step) {
      const start = Math.max(stop - maxLength, 0);
      windows.push([start, stop]);
      if (start === 0) break;
    }
  }
  const [first, ...rest] = windows;
  const main = enc.slice(first[0], first[1]);
  return new Encoding({ ...main.fields(), overflowing: rest.map(([s, e]) => enc.slice(s, e)) });
}

/** HF `truncate_encodings`: how many tokens each sequence of a pair keeps, by strategy. */
export function truncatePair(
  a: Encoding,
  b: Encoding | null,
  params: TruncationParams,
): [Encoding, Encoding | null] {
  const { maxLength, stride, direction } = params;
  const total = a.length + (b?.length ?? 0);
  if (total <= maxLength) return [a, b];
  const toRemove = total - maxLength;
  if (params.strategy === 'longest_first') {
    if (b === null) return [truncateEncoding(a, maxLength, stride, direction), null];
    let n1 = a.length;
    let n2 = b.length;
    const swap = n1 > n2;
    if (swap) [n1, n2] = [n2, n1];
    n2 = n1 > maxLength ? n1 : Math.max(n1, maxLength - n1);
    if (n1 + n2 > maxLength) {
      n1 = Math.floor(maxLength / 2);
      n2 = n1 + (maxLength % 2);
    }
    if (swap) [n1, n2] = [n2, n1];
    return [truncateEncoding(a, n1, stride, direction), truncateEncoding(b, n2, stride, direction)];
  }
  const second = params.strategy === 'only_second';
  if (second && b === null) throw new Error('truncation: strategy "only_second" needs a pair of sequences');
  const target = second ? (b as Encoding) : a;
  if (target.length <= toRemove) {
    throw new Error(
      `truncation: cannot remove ${toRemove} tokens from a sequence of ${target.length} with strategy "${params.strategy}"`,
    );
  }
  const cut = truncateEncoding(target, target.length - toRemove, stride, direction);
  return second ? [a, cut] : [cut, b];
}
