import { type JsonObject, type Pattern, patternToJSON } from '../io/json.js';
import type { NormalizedString } from '../normalizers/normalized-string.js';
import { compilePattern } from '../unicode/regex.js';
import { type PreTokenizer, regexMatches, type SplitBehavior, splitByMatches } from './pre-tokenizer.js';

/** HF `Split`: a string or regex pattern with a delimiter behaviour, optionally inverted. */
export class Split implements PreTokenizer {
  private readonly regex: RegExp;

  constructor(
    readonly pattern: Pattern,
    readonly behavior: SplitBehavior,
    readonly invert = false,
  ) {
    this.regex = compilePattern(pattern);
  }

  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    return pieces.flatMap((p) =>
      splitByMatches(p, regexMatches(p.normalized, this.regex), this.behavior, this.invert),
    );
  }

  toJSON(): JsonObject {
    return {
      type: 'Split',
      pattern: patternToJSON(this.pattern),
      behavior: this.behavior,
      invert: this.invert,
    };
  }
}

export class PreTokenizerSequence implements PreTokenizer {
  constructor(readonly preTokenizers: readonly PreTokenizer[]) {}

  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    let out = pieces;
    for (const p of this.preTokenizers) out = p.preTokenize(out);
    return out;
  }

  toJSON(): JsonObject {
    return { type: 'Sequence', pretokenizers: this.preTokenizers.map((p) => p.toJSON()) };
  }
}
