import type { JsonObject } from '../io/json.js';
import type { NormalizedString } from '../normalizers/normalized-string.js';
import { isNumeric, isPunctuation, isWhitespace } from '../unicode/char-classes.js';
import {
  charMatches,
  type PreTokenizer,
  regexMatches,
  type SplitBehavior,
  splitByMatches,
} from './pre-tokenizer.js';

/** HF `Whitespace`: keeps runs of word characters and runs of other non-space characters. */
export class Whitespace implements PreTokenizer {
  // Rust's `\w` is Unicode-aware (alphabetic, marks, decimal digits, connector punctuation).
  private readonly regex =
    /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu;

  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    return pieces.flatMap((p) => splitByMatches(p, regexMatches(p.normalized, this.regex), 'Removed', true));
  }

  toJSON(): JsonObject {
    return { type: 'Whitespace' };
  }
}

const WORD = 0;
const SPACE = 1;
const PUNCT = 2;

/** Character kinds for ASCII, so the common case needs no Unicode lookups. */
const ASCII_KIND = new Uint8Array(128).map((_, c) =>
  isWhitespace(String.fromCharCode(c)) ? SPACE : isPunctuation(String.fromCharCode(c)) ? PUNCT : WORD,
);

/**
 * One pass equal to HF's whitespace split (Removed) followed, when `punctuation`, by a punctuation
 * split (Isolated), without the intermediate match lists: BERT pre-tokenization of large texts was
 * dominated by their garbage.
 */
function splitWords(p: NormalizedString, punctuation: boolean, out: NormalizedString[]): void {
  const s = p.normalized;
  let start = -1;
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    let units = 1;
    let kind: number;
    if (c < 128) kind = ASCII_KIND[c];
    else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00)
        units = 2;
      const ch = s.slice(i, i + units);
      kind = isWhitespace(ch) ? SPACE : isPunctuation(ch) ? PUNCT : WORD;
    }
    if (kind === PUNCT && !punctuation) kind = WORD;
    if (kind === WORD) {
      if (start < 0) start = i;
    } else {
      if (start >= 0) out.push(p.slice(start, i));
      start = -1;
      if (kind === PUNCT) out.push(p.slice(i, i + units));
    }
    i += units;
  }
  if (start >= 0) out.push(p.slice(start, s.length));
}

/** HF `WhitespaceSplit`: splits on whitespace only. */
export class WhitespaceSplit implements PreTokenizer {
  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    const out: NormalizedString[] = [];
    for (const p of pieces) splitWords(p, false, out);
    return out;
  }

  toJSON(): JsonObject {
    return { type: 'WhitespaceSplit' };
  }
}

/** HF `BertPreTokenizer`: whitespace split, then every punctuation character on its own. */
export class BertPreTokenizer implements PreTokenizer {
  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    const out: NormalizedString[] = [];
    for (const p of pieces) splitWords(p, true, out);
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
    return pieces.flatMap((p) =>
      splitByMatches(
        p,
        charMatches(p.normalized, (c) => c === d),
        'Removed',
      ),
    );
  }

  toJSON(): JsonObject {
    return { type: 'CharDelimiterSplit', delimiter: this.delimiter };
  }
}
