import type { JsonObject } from '../io/json.js';
import { CHAR_TO_BYTE } from '../pre-tokenizers/byte-level-alphabet.js';
import type { Decoder } from './decoder.js';

const encoder = new TextEncoder();
// fatal: false gives U+FFFD for invalid sequences with the same "maximal subpart" rule as Rust's
// String::from_utf8_lossy, which HF and tiktoken use.
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * HF's ByteLevel decoder: every token character back to its byte, then UTF-8. A token containing a
 * character outside the byte alphabet (an added token such as "<|endoftext|>" written with other
 * characters) contributes its own UTF-8 bytes instead.
 */
export class ByteLevelDecoder implements Decoder {
  constructor(
    readonly addPrefixSpace = true,
    readonly trimOffsets = true,
    readonly useRegex = true,
  ) {}

  decodeChain(tokens: string[]): string[] {
    return [decodeByteLevel(tokens)];
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

export function decodeByteLevel(tokens: readonly string[]): string {
  let total = 0;
  for (const t of tokens) total += t.length * 3;
  const bytes = new Uint8Array(total);
  let n = 0;
  for (const t of tokens) {
    const start = n;
    let ok = true;
    for (let i = 0; i < t.length; i++) {
      const b = CHAR_TO_BYTE.get(t[i]);
      if (b === undefined) {
        ok = false;
        break;
      }
      bytes[n++] = b;
    }
    if (!ok) {
      n = start;
      const raw = encoder.encode(t);
      bytes.set(raw, n);
      n += raw.length;
    }
  }
  return decoder.decode(bytes.subarray(0, n));
}
