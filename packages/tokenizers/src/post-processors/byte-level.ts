import { Encoding } from '../encoding/encoding.js';
import type { JsonObject } from '../io/json.js';
import { BYTE_TO_CHAR } from '../pre-tokenizers/byte-level-alphabet.js';
import { isWhitespace } from '../unicode/char-classes.js';
import { defaultProcess, mapWithOverflow, type PostProcessor } from './post-processor.js';

const SPACE_CHAR = BYTE_TO_CHAR[32];

function isSpaceLike(ch: string): boolean {
  return ch === SPACE_CHAR || isWhitespace(ch);
}

/**
 * HF `process_offsets`: shrinks each token's offsets so they exclude the leading and trailing
 * spaces the token carries ("Ġhello" -> "hello"), except the space added by `add_prefix_space`.
 */
export function trimByteLevelOffsets(enc: Encoding, addPrefixSpace: boolean): Encoding {
  return mapWithOverflow(enc, (e) => {
    const f = e.fields();
    const off = f.offsets;
    const tokens = e.tokens;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      const chars = Array.from(token);
      let leading = 0;
      while (leading < chars.length && isSpaceLike(chars[leading])) leading++;
      let trailing = 0;
      while (trailing < chars.length && isSpaceLike(chars[chars.length - 1 - trailing])) trailing++;
      if (leading === 0 && trailing === 0) continue;
      let start = off[2 * i];
      let end = off[2 * i + 1];
      if (leading > 0) {
        const isFirst = i === 0 || start === 0;
        if (!(isFirst && addPrefixSpace && leading === 1)) start = Math.min(start + leading, end);
      }
      if (trailing > 0 && end >= trailing) end = Math.max(end - trailing, start);
      off[2 * i] = start;
      off[2 * i + 1] = end;
    }
    return new Encoding(f);
  });
}

/** HF's ByteLevel post-processor: optional offset trimming, no special tokens. */
export class ByteLevelProcessor implements PostProcessor {
  constructor(
    readonly addPrefixSpace = true,
    readonly trimOffsets = true,
    readonly useRegex = true,
  ) {}

  addedTokens(): number {
    return 0;
  }

  process(encoding: Encoding, pair: Encoding | null): Encoding {
    if (this.trimOffsets) {
      encoding = trimByteLevelOffsets(encoding, this.addPrefixSpace);
      if (pair !== null) pair = trimByteLevelOffsets(pair, this.addPrefixSpace);
    }
    return defaultProcess(encoding, pair);
  }

  toJSON(): JsonObject {
    return {
      type: 'ByteLevel',
      add_prefix_space: this.addPrefixSpace,
      trim_offsets: this.trimOffsets,
      use_regex: this.useRegex,
    };
  }
}
