import type { JsonObject } from '../io/json.js';
import type { PrependScheme } from '../pre-tokenizers/metaspace.js';
import type { Decoder } from './decoder.js';

/**
 * HF's `cleanup` of tokenization spaces (from the original BERT code): removes the space the
 * decoder put before punctuation and English contractions.
 */
export function cleanUpTokenization(s: string): string {
  return s
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(' do not', " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/** HF's WordPiece decoder: "##" pieces glue to the previous token, others get a space. */
export class WordPieceDecoder implements Decoder {
  constructor(
    readonly prefix = '##',
    readonly cleanup = true,
  ) {}

  decodeChain(tokens: string[]): string[] {
    return tokens.map((token, i) => {
      let t = token;
      if (i !== 0) t = t.startsWith(this.prefix) ? t.replace(this.prefix, '') : ` ${t}`;
      return this.cleanup ? cleanUpTokenization(t) : t;
    });
  }

  toJSON(): JsonObject {
    return { type: 'WordPiece', prefix: this.prefix, cleanup: this.cleanup };
  }
}

/** HF's Metaspace decoder: "▁" back to spaces, the leading one dropped. */
export class MetaspaceDecoder implements Decoder {
  constructor(
    readonly replacement = '\u2581',
    readonly prependScheme: PrependScheme = 'always',
    readonly split = true,
  ) {}

  decodeChain(tokens: string[]): string[] {
    return tokens.map((token, i) => {
      let out = '';
      for (const c of token) {
        if (c === this.replacement) {
          // HF drops every replacement character of the first token, not only the leading one.
          if (!(i === 0 && this.prependScheme !== 'never')) out += ' ';
        } else out += c;
      }
      return out;
    });
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

/** HF's BPEDecoder: the end-of-word suffix becomes a space (none after the last token). */
export class BPEDecoder implements Decoder {
  constructor(readonly suffix = '</w>') {}

  decodeChain(tokens: string[]): string[] {
    return tokens.map((t, i) => t.replaceAll(this.suffix, i === tokens.length - 1 ? '' : ' '));
  }

  toJSON(): JsonObject {
    return { type: 'BPEDecoder', suffix: this.suffix };
  }
}
