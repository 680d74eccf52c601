import { Encoding } from '../encoding/encoding.js';
import type { JsonObject } from '../io/json.js';

/** Last pipeline stage: adds special tokens and joins pairs (HF `PostProcessor`). */
export interface PostProcessor {
  /** How many special tokens `process` adds, so truncation can leave room for them. */
  addedTokens(isPair: boolean): number;
  process(encoding: Encoding, pair: Encoding | null, addSpecialTokens: boolean): Encoding;
  toJSON(): JsonObject;
}

/**
 * What HF does without a post-processor: sequence ids 0 and 1, then concatenation. Type ids stay
 * as encoded (0 for the first sequence, 1 for the pair).
 */
export function defaultProcess(encoding: Encoding, pair: Encoding | null): Encoding {
  if (pair === null) return encoding;
  const a = encoding.withSequence(0, 0);
  const b = pair.withSequence(1, 1);
  return Encoding.concat(
    [withTypeIds(a, encoding.typeIds), withTypeIds(b, pair.typeIds)],
    [...a.overflowing, ...b.overflowing],
  );
}

function withTypeIds(enc: Encoding, typeIds: Int32Array): Encoding {
  const f = enc.fields();
  f.typeIds = typeIds.slice();
  return new Encoding(f);
}

/** Applies `fn` to an encoding and, the same way, to each of its overflowing windows. */
export function mapWithOverflow(enc: Encoding, fn: (e: Encoding) => Encoding): Encoding {
  const main = fn(enc);
  if (enc.overflowing.length === 0) return main;
  return new Encoding({ ...main.fields(), overflowing: enc.overflowing.map((o) => fn(o)) });
}
