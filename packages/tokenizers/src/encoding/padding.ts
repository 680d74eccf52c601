import { Encoding } from './encoding.js';
import type { Direction } from './truncation.js';

export interface PaddingParams {
  /** 'longest' pads a batch to its longest member; a number pads to that fixed length. */
  strategy: 'longest' | number;
  direction: Direction;
  padToMultipleOf: number | null;
  padId: number;
  padTypeId: number;
  padToken: string;
}

/** Pads one encoding (and its overflowing windows) to `length` (HF `Encoding::pad`). */
export function padEncoding(enc: Encoding, length: number, p: PaddingParams): Encoding {
  const overflowing = enc.overflowing.map((o) => padEncoding(o, length, p));
  const n = length - enc.length;
  if (n <= 0) return overflowing.length ? new Encoding({ ...enc.fields(), overflowing }) : enc;
  const pad = new Encoding({
    ids: new Int32Array(n).fill(p.padId),
    typeIds: new Int32Array(n).fill(p.padTypeId),
    tokens: new Array<string>(n).fill(p.padToken),
    offsets: new Int32Array(2 * n),
    attentionMask: new Int32Array(n),
    specialTokensMask: new Int32Array(n).fill(1),
    sequenceIds: new Int32Array(n).fill(-1),
  });
  return Encoding.concat(p.direction === 'right' ? [enc, pad] : [pad, enc], overflowing);
}

/** HF `pad_encodings`: the target length for a batch, then every member padded to it. */
export function padBatch(encodings: Encoding[], p: PaddingParams): Encoding[] {
  if (encodings.length === 0) return encodings;
  let length = p.strategy === 'longest' ? Math.max(...encodings.map((e) => e.length)) : p.strategy;
  const m = p.padToMultipleOf;
  if (m !== null && m > 0 && length % m !== 0) length += m - (length % m);
  return encodings.map((e) => padEncoding(e, length, p));
}
