import type { JsonObject } from '../io/json.js';
import type { NormalizedString } from '../normalizers/normalized-string.js';
import { escapeRegex } from '../unicode/regex.js';
import { charMatches, type PreTokenizer, splitByMatches } from './pre-tokenizer.js';

/** When Metaspace adds the replacement character in front of the text (HF `PrependScheme`). */
export type PrependScheme = 'always' | 'first' | 'never';

/** HF `Metaspace` (SentencePiece style): spaces become "▁", words start with it. */
export class Metaspace implements PreTokenizer {
  private readonly spaces: RegExp;

  constructor(
    readonly replacement = '\u2581',
    readonly prependScheme: PrependScheme = 'always',
    readonly split = true,
  ) {
    this.spaces = new RegExp(escapeRegex(' '), 'gu');
  }

  preTokenize(pieces: NormalizedString[]): NormalizedString[] {
    const out: NormalizedString[] = [];
    for (const p of pieces) {
      p.replaceAll(this.spaces, this.replacement);
      const first = p.originalStart === 0;
      if (
        (this.prependScheme === 'always' || (this.prependScheme === 'first' && first)) &&
        !p.normalized.startsWith(this.replacement)
      ) {
        p.prepend(this.replacement);
      }
      if (this.split) {
        const r = this.replacement;
        out.push(
          ...splitByMatches(
            p,
            charMatches(p.normalized, (c) => c === r),
            'MergedWithNext',
          ),
        );
      } else if (p.length > 0) {
        out.push(p);
      }
    }
    return out;
  }

  toJSON(): JsonObject {
    return {
      type: 'Metaspace',
      replacement: this.replacement,
      prepend_scheme: this.prependScheme,
      split: this.split,
    };
  }
}
