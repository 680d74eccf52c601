import type { JsonObject } from '../io/json.js';
import { isChineseChar, isControl, isWhitespace } from '../unicode/char-classes.js';
import { lowercaseChar, stripAccentsChar } from './case-and-accents.js';
import type { NormalizedString } from './normalized-string.js';
import type { Normalizer } from './normalizer.js';

export interface BertNormalizerOptions {
  /** Drop control characters and U+FFFD, turn every whitespace into a space. Default true. */
  cleanText?: boolean;
  /** Put spaces around CJK ideographs so each becomes a word. Default true. */
  handleChineseChars?: boolean;
  /** Default (null): follow `lowercase`, as in the original BERT. */
  stripAccents?: boolean | null;
  lowercase?: boolean;
}

/** HF `BertNormalizer`: clean text, space out CJK, strip accents, lowercase, in that order. */
export class BertNormalizer implements Normalizer {
  readonly cleanText: boolean;
  readonly handleChineseChars: boolean;
  readonly stripAccents: boolean | null;
  readonly lowercase: boolean;

  constructor(options: BertNormalizerOptions = {}) {
    this.cleanText = options.cleanText ?? true;
    this.handleChineseChars = options.handleChineseChars ?? true;
    this.stripAccents = options.stripAccents ?? null;
    this.lowercase = options.lowercase ?? true;
  }

  normalize(ns: NormalizedString): void {
    const strip = this.stripAccents ?? this.lowercase;
    const { cleanText, handleChineseChars, lowercase } = this;
    // One pass doing the four steps per character gives the same result as HF's four passes,
    // because each step maps a character to characters the later steps treat independently.
    ns.mapChars(
      (ch) => {
        const c = ch.charCodeAt(0);
        if (c < 128 && c !== 0 && c >= 32 && c !== 127) return lowercase ? ch.toLowerCase() : ch;
        if (cleanText) {
          if (c === 0 || ch === '\ufffd' || isControl(ch)) return '';
          if (isWhitespace(ch)) return ' ';
        }
        if (handleChineseChars && isChineseChar(ch)) return ` ${ch} `;
        let out = strip ? stripAccentsChar(ch) : ch;
        if (lowercase) out = lowercaseOf(out);
        return out;
      },
      // Printable ASCII and \t \n \r: lowercasing and whitespace cleaning keep lengths.
      { pattern: ASCII_RUN, map: (run) => this.asciiRun(run) },
    );
  }

  private asciiRun(run: string): string {
    let out = this.lowercase ? run.toLowerCase() : run;
    if (this.cleanText) out = out.replace(ASCII_SPACE, ' ');
    return out;
  }

  toJSON(): JsonObject {
    return {
      type: 'BertNormalizer',
      clean_text: this.cleanText,
      handle_chinese_chars: this.handleChineseChars,
      strip_accents: this.stripAccents,
      lowercase: this.lowercase,
    };
  }
}

const ASCII_RUN = /[\x20-\x7e\t\n\r]+/g;
const ASCII_SPACE = /[\t\n\r]/g;

function lowercaseOf(s: string): string {
  let out = '';
  for (const ch of s) out += lowercaseChar(ch);
  return out;
}
