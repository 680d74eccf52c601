import type { JsonObject } from '../io/json.js';
import { invertVocab, type Model, type ModelToken, vocabToJSON } from './model.js';

export interface WordPieceOptions {
  unkToken?: string;
  continuingSubwordPrefix?: string;
  maxInputCharsPerWord?: number;
}

/**
 * WordPiece (BERT), HF's `WordPiece` model: greedy longest-match-first from the left, continuation
 * pieces carry the "##" prefix, and a word with any unmatched rest becomes one unknown token.
 */
export class WordPieceModel implements Model {
  readonly type = 'WordPiece';
  readonly unkToken: string;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;
  private readonly idToTokenTable: string[];
  private readonly cache = new Map<string, ModelToken[]>();

  constructor(
    readonly vocab: Map<string, number>,
    options: WordPieceOptions = {},
  ) {
    this.unkToken = options.unkToken ?? '[UNK]';
    this.continuingSubwordPrefix = options.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    this.idToTokenTable = invertVocab(vocab);
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  getVocab(): Map<string, number> {
    return new Map(this.vocab);
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.idToTokenTable[id];
  }

  private unk(word: string): ModelToken[] {
    const id = this.vocab.get(this.unkToken);
    if (id === undefined) throw new Error(`WordPiece: unk_token "${this.unkToken}" is not in the vocabulary`);
    return [{ id, value: this.unkToken, start: 0, end: word.length }];
  }

  tokenize(word: string): ModelToken[] {
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached;
    const tokens = this.tokenizeUncached(word);
    if (this.cache.size >= 100_000) this.cache.clear();
    this.cache.set(word, tokens);
    return tokens;
  }

  private tokenizeUncached(word: string): ModelToken[] {
    // Character boundaries in code units: pieces never split a surrogate pair.
    const bounds: number[] = [0];
    for (let i = 0; i < word.length; ) {
      const c = word.charCodeAt(i);
      i += c >= 0xd800 && c <= 0xdbff && i + 1 < word.length ? 2 : 1;
      bounds.push(i);
    }
    const chars = bounds.length - 1;
    if (chars > this.maxInputCharsPerWord) return this.unk(word);
    const out: ModelToken[] = [];
    let b = 0;
    while (b < chars) {
      let e = chars;
      let found: ModelToken | null = null;
      while (e > b) {
        let piece = word.slice(bounds[b], bounds[e]);
        if (b > 0) piece = this.continuingSubwordPrefix + piece;
        const id = this.vocab.get(piece);
        if (id !== undefined) {
          found = { id, value: piece, start: bounds[b], end: bounds[e] };
          break;
        }
        e--;
      }
      if (found === null) return this.unk(word);
      out.push(found);
      b = e;
    }
    return out;
  }

  toJSON(): JsonObject {
    return {
      type: 'WordPiece',
      unk_token: this.unkToken,
      continuing_subword_prefix: this.continuingSubwordPrefix,
      max_input_chars_per_word: this.maxInputCharsPerWord,
      vocab: vocabToJSON(this.vocab),
    };
  }
}
