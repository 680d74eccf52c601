import { type JsonObject, type Pattern, patternToJSON } from '../io/json.js';
import { isWhitespace } from '../unicode/char-classes.js';
import { compilePattern } from '../unicode/regex.js';
import type { NormalizedString } from './normalized-string.js';
import type { Normalizer } from './normalizer.js';

/** HF `Replace`: every match of a string or regex pattern becomes `content`. */
export class Replace implements Normalizer {
  private readonly regex: RegExp;

  constructor(
    readonly pattern: Pattern,
    readonly content: string,
  ) {
    this.regex = compilePattern(pattern);
  }

  normalize(ns: NormalizedString): void {
    ns.replaceAll(this.regex, this.content);
  }

  toJSON(): JsonObject {
    return { type: 'Replace', pattern: patternToJSON(this.pattern), content: this.content };
  }
}

/** HF `Prepend`: adds a prefix to non-empty text (SentencePiece-style "▁"). */
export class Prepend implements Normalizer {
  constructor(readonly prefix: string) {}

  normalize(ns: NormalizedString): void {
    ns.prepend(this.prefix);
  }

  toJSON(): JsonObject {
    return { type: 'Prepend', prepend: this.prefix };
  }
}

/** HF `Strip`: removes leading and/or trailing whitespace. */
export class Strip implements Normalizer {
  constructor(
    readonly left = true,
    readonly right = true,
  ) {}

  normalize(ns: NormalizedString): void {
    const s = ns.normalized;
    let start = 0;
    let end = s.length;
    if (this.left) while (start < end && isWhitespace(s[start])) start++;
    if (this.right) while (end > start && isWhitespace(s[end - 1])) end--;
    ns.trim(start, s.length - end);
  }

  toJSON(): JsonObject {
    return { type: 'Strip', strip_left: this.left, strip_right: this.right };
  }
}

export class NormalizerSequence implements Normalizer {
  constructor(readonly normalizers: readonly Normalizer[]) {}

  normalize(ns: NormalizedString): void {
    for (const n of this.normalizers) n.normalize(ns);
  }

  toJSON(): JsonObject {
    return { type: 'Sequence', normalizers: this.normalizers.map((n) => n.toJSON()) };
  }
}
