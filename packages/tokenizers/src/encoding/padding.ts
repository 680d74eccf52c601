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
    ids: new Array(n).fill(p.padId),
    typeIds: new Array(n).fill(p.padTypeId),
    tokens: new Array(n).fill(p.padToken),
    offsets: new Array(2 * n).fill(0),
    attentionMask: new Array(n).fill(0),
    specialTokensMask: new Array(n).fill(1),
    sequenceIds: new Array(n).fill(null),
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
