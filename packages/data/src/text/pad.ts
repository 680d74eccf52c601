// Padding and truncation of token-index sequences to one length.

import type { Device, DType, Tensor } from '@kiln/core';
import * as k from '@kiln/core';

export interface PadSequencesOptions {
  /** Output length; default the longest sequence. */
  maxLen?: number;
  /** Padding value (default 0). */
  value?: number;
  /** Pad after the tokens ('post', default, as PyTorch's pad_sequence) or before them ('pre', Keras' default). */
  padding?: 'pre' | 'post';
  /** When longer than maxLen, drop tokens from the end ('post', default) or the start ('pre', Keras' default). */
  truncating?: 'pre' | 'post';
  /** int32 (default), float32, ... */
  dtype?: DType;
  device?: Device;
}

/**
 * Sequences of indices -> a [N, maxLen] tensor, padded and truncated as Keras' pad_sequences does
 * (with PyTorch's post-padding as the default).
 */
export function padSequences(
  sequences: readonly ArrayLike<number>[],
  options: PadSequencesOptions = {},
): Tensor {
  const { value = 0, padding = 'post', truncating = 'post' } = options;
  for (const [what, side] of [
    ['padding', padding],
    ['truncating', truncating],
  ] as const) {
    if (side !== 'pre' && side !== 'post')
      throw new Error(`padSequences: ${what} must be 'pre' or 'post' (got ${JSON.stringify(side)})`);
  }
  const maxLen = options.maxLen ?? sequences.reduce((m, s) => Math.max(m, s.length), 0);
  if (!Number.isSafeInteger(maxLen) || maxLen < 0)
    throw new RangeError(`padSequences: maxLen must be a non-negative integer (got ${maxLen})`);
  const out = new Float64Array(sequences.length * maxLen).fill(value);
  sequences.forEach((seq, r) => {
    const keep = Math.min(seq.length, maxLen);
    const from = truncating === 'pre' ? seq.length - keep : 0;
    const to = padding === 'pre' ? maxLen - keep : 0;
    for (let j = 0; j < keep; j++) out[r * maxLen + to + j] = seq[from + j];
  });
  return k.fromHost(
    out,
    [sequences.length, maxLen],
    options.dtype ?? 'int32',
    options.device ?? k.getDefaultDevice(),
  );
}

/** d2l's truncate_pad: the first numSteps tokens of `line`, padded at the end with `padToken`. */
export function truncatePad(line: readonly number[], numSteps: number, padToken: number): number[] {
  if (line.length > numSteps) return line.slice(0, numSteps);
  return [...line, ...new Array<number>(numSteps - line.length).fill(padToken)];
}
