import type { JsonObject } from '../io/json.js';
import type { NormalizedString } from '../normalizers/normalized-string.js';
import { BYTE_TO_CHAR } from './byte-level-alphabet.js';
import { type PreTokenizer, regexMatches, splitByMatches } from './pre-tokenizer.js';

/**
 * GPT-2's pre-tokenization pattern. `\s` is spelled `\p{White_Space}` because that is what Rust's
 * regex engines (tiktoken, HF) mean by it; JS's `\s` also matches U+FEFF and misses U+0085.
 */
export const GPT2_SPLIT_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\p{White_Space}\\p{L}\\p{N}]+|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+";

export function gpt2SplitRegex(): RegExp {
  return new RegExp(GPT2_SPLIT_PATTERN, 'gu');
}

const encoder = new TextEncoder();

/** The byte-level spelling of one character: its UTF-8 bytes as alphabet characters. */
export function byteLevelChars(ch: string): string {
  const c = ch.charCodeAt(0);
  if (ch.length === 1 && c < 128) return BYTE_TO_CHAR[c];
  let out = '';
  for (const b of encoder.encode(ch)) out += BYTE_TO_CHAR[b];
  return out;
}

export interface ByteLevelOptions {
  /** Add a space before the text when it does not start with one (RoBERTa). Default false here. */
  addPrefixSpace?: boolean;
  /** Used by the ByteLevel post-processor: shrink offsets to exclude the spaces. */
  trimOffsets?: boolean;
  /** Split with the GPT-2 pattern first. Default true. */
  useRegex?: boolean;
}

/** HF `ByteLevel` pre-tokenizer: optional prefix space, GPT-2 split, bytes mapped to visible chars. */
export class ByteLevelPreTokenizer implements PreTokenizer {
  readonly addPrefixSpace: boolean;
  readonly trimOffsets: boolean;
  readonly useRegex: boolean;
  private readonly regex = gpt2SplitRegex();

  constructor(options: ByteLevelOptions = {}) {
    this.addPrefixSpace = options.addPrefixSpace ?? false;
    this.trimOffsets = options.trimOffsets ?? true;
    this.useRegex = options.useRegex ?? true;
  }

  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    const out: NormalizedString[] = [];
    for (const piece of pieces) {
      if (this.addPrefixSpace && !piece.normalized.startsWith(' ')) piece.prepend(' ');
      const words = this.useRegex
        ? splitByMatches(piece, regexMatches(piece.normalized, this.regex), 'Isolated')
        : [piece];
      for (const w of words) if (w.length > 0) out.push(w.mapChars(byteLevelChars));
    }
    return out;
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
