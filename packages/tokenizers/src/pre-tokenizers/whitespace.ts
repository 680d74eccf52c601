import type { JsonObject } from '../io/json.js';
import type { NormalizedString } from '../normalizers/normalized-string.js';
import { isNumeric, isPunctuation, isWhitespace } from '../unicode/char-classes.js';
import {
  type PreTokenizer,
  type SplitBehavior,
  charMatches,
  regexMatches,
  splitByMatches,
} from './pre-tokenizer.js';

/** HF `Whitespace`: keeps runs of word characters and runs of other non-space characters. */
export class Whitespace implements PreTokenizer {
  // Rust's `\w` is Unicode-aware (alphabetic, marks, decimal digits, connector punctuation).
  private readonly regex = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu;

  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    return pieces.flatMap((p) => splitByMatches(p, regexMatches(p.normalized, this.regex), 'Removed', true));
  }

  toJSON(): JsonObject {
    return { type: 'Whitespace' };
  }
}

/** HF `WhitespaceSplit`: splits on whitespace only. */
export class WhitespaceSplit implements PreTokenizer {
  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    return pieces.flatMap((p) => splitByMatches(p, charMatches(p.normalized, isWhitespace), 'Removed'));
  }

  toJSON(): JsonObject {
    return { type: 'WhitespaceSplit' };
  }
}

/** HF `BertPreTokenizer`: whitespace split, then every punctuation character on its own. */
export class BertPreTokenizer implements PreTokenizer {
  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    const out: NormalizedString[] = [];
    for (const p of pieces) {
      for (const w of splitByMatches(p, charMatches(p.normalized, isWhitespace), 'Removed')) {
        out.push(...splitByMatches(w, charMatches(w.normalized, isPunctuation), 'Isolated'));
      }
    }
    return out;
  }

  toJSON(): JsonObject {
    return { type: 'BertPreTokenizer' };
  }
}

/** HF `Punctuation`: splits on punctuation characters with a chosen behaviour. */
export class Punctuation implements PreTokenizer {
  constructor(readonly behavior: SplitBehavior = 'Isolated') {}

  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    return pieces.flatMap((p) => splitByMatches(p, charMatches(p.normalized, isPunctuation), this.behavior));
  }

  toJSON(): JsonObject {
    return { type: 'Punctuation', behavior: this.behavior };
  }
}

/** HF `Digits`: numbers apart from the rest, each digit alone when `individualDigits`. */
export class Digits implements PreTokenizer {
  constructor(readonly individualDigits = false) {}

  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    const behavior: SplitBehavior = this.individualDigits ? 'Isolated' : 'Contiguous';
    return pieces.flatMap((p) => splitByMatches(p, charMatches(p.normalized, isNumeric), behavior));
  }

  toJSON(): JsonObject {
    return { type: 'Digits', individual_digits: this.individualDigits };
  }
}

/** HF `CharDelimiterSplit`: splits on one character, which is removed. */
export class CharDelimiterSplit implements PreTokenizer {
  constructor(readonly delimiter: string) {}

  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    const d = this.delimiter;
    return pieces.flatMap((p) => splitByMatches(p, charMatches(p.normalized, (c) => c === d), 'Removed'));
  }

  toJSON(): JsonObject {
    return { type: 'CharDelimiterSplit', delimiter: this.delimiter };
  }
}
