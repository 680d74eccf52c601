import { type JsonObject, type Pattern, patternToJSON } from '../io/json.js';
import { compilePattern } from '../unicode/regex.js';
import type { Decoder } from './decoder.js';

/** HF's Replace decoder (e.g. "▁" -> " " in Llama-style pipelines). */
export class ReplaceDecoder implements Decoder {
  private readonly regex: RegExp;

  constructor(
    readonly pattern: Pattern,
    readonly content: string,
  ) {
    this.regex = compilePattern(pattern);
  }

  decodeChain(tokens: string[]): string[] {
    const content = this.content;
    return tokens.map((t) => t.replace(this.regex, () => content));
  }

  toJSON(): JsonObject {
    return { type: 'Replace', pattern: patternToJSON(this.pattern), content: this.content };
  }
}

/** HF's Fuse decoder: all tokens into one string. */
export class FuseDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] {
    return [tokens.join('')];
  }

  toJSON(): JsonObject {
    return { type: 'Fuse' };
  }
}

/** HF's Strip decoder: removes up to `start` / `stop` copies of `content` at each token's ends. */
export class StripDecoder implements Decoder {
  constructor(
    readonly content: string,
    readonly start: number,
    readonly stop: number,
  ) {}

  decodeChain(tokens: string[]): string[] {
    return tokens.map((token) => {
      const chars = Array.from(token);
      let s = 0;
      while (s < this.start && s < chars.length && chars[s] === this.content) s++;
      let e = chars.length;
      while (chars.length - e < this.stop && e > s && chars[e - 1] === this.content) e--;
      return chars.slice(s, e).join('');
    });
  }

  toJSON(): JsonObject {
    return { type: 'Strip', content: this.content, start: this.start, stop: this.stop };
  }
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** HF's ByteFallback decoder: runs of `<0xNN>` tokens back to UTF-8 (U+FFFD per byte if invalid). */
export class ByteFallbackDecoder implements Decoder {
  decodeChain(tokens: string[]): string[] {
    const out: string[] = [];
    let pending: number[] = [];
    const flush = (): void => {
      if (pending.length === 0) return;
      try {
        out.push(strictUtf8.decode(Uint8Array.from(pending)));
      } catch {
        for (let i = 0; i < pending.length; i++) out.push('\ufffd');
      }
      pending = [];
    };
    for (const t of tokens) {
      const m = BYTE_TOKEN.exec(t);
      if (m) pending.push(Number.parseInt(m[1], 16));
      else {
        flush();
        out.push(t);
      }
    }
    flush();
    return out;
  }

  toJSON(): JsonObject {
    return { type: 'ByteFallback' };
  }
}

export class DecoderSequence implements Decoder {
  constructor(readonly decoders: readonly Decoder[]) {}

  decodeChain(tokens: string[]): string[] {
    let out = tokens;
    for (const d of this.decoders) out = d.decodeChain(out);
    return out;
  }

  toJSON(): JsonObject {
    return { type: 'Sequence', decoders: this.decoders.map((d) => d.toJSON()) };
  }
}
