import { type AddedTokenOptions, AddedVocabulary } from './added-tokens/added-vocabulary.js';
import {
  ROLE_SPELLINGS,
  type SpecialTokenRole,
  type SpecialTokens,
} from './added-tokens/special-token-roles.js';
import type { Decoder } from './decoders/decoder.js';
import { decodeTokens } from './decoders/decoder.js';
import { decoderFromJSON } from './decoders/from-json.js';
import { cleanUpTokenization } from './decoders/subword.js';
import { Encoding } from './encoding/encoding.js';
import { type PaddingParams, padBatch } from './encoding/padding.js';
import {
  paddingFromJSON,
  paddingToJSON,
  truncationFromJSON,
  truncationToJSON,
} from './encoding/settings-json.js';
import {
  type Direction,
  type TruncationParams,
  type TruncationStrategy,
  truncatePair,
} from './encoding/truncation.js';
import { type JsonObject, JsonReader, type JsonValue, parseJson } from './io/json.js';
import { type FileSource, readSource, writeFiles } from './io/source.js';
import { mergesTxtText, vocabJsonText, vocabTxtText } from './io/vocab-files.js';
import { BPEModel, TokenSink } from './models/bpe.js';
import { modelFromJSON } from './models/from-json.js';
import type { Model } from './models/model.js';
import { WordLevelModel } from './models/word-level.js';
import { WordPieceModel } from './models/wordpiece.js';
import { normalizerFromJSON } from './normalizers/from-json.js';
import type { Normalizer } from './normalizers/normalizer.js';
import { postProcessorFromJSON } from './post-processors/from-json.js';
import { defaultProcess, type PostProcessor } from './post-processors/post-processor.js';
import { ByteLevelPreTokenizer } from './pre-tokenizers/byte-level.js';
import { preTokenizerFromJSON } from './pre-tokenizers/from-json.js';
import type { PreTokenizer } from './pre-tokenizers/pre-tokenizer.js';

export interface TruncationOptions {
  maxLength?: number;
  strategy?: TruncationStrategy;
  direction?: Direction;
  stride?: number;
}

export interface PaddingOptions {
  /** 'longest' (default for batches) or 'max_length' (needs `maxLength`). */
  strategy?: 'longest' | 'max_length';
  maxLength?: number;
  direction?: Direction;
  padToMultipleOf?: number | null;
  padId?: number;
  padTypeId?: number;
  padToken?: string;
}

export interface EncodeOptions {
  /** Add the post-processor's special tokens ([CLS]/[SEP] for BERT). Default true, as in HF. */
  addSpecialTokens?: boolean;
  /** true: the tokenizer's truncation settings, or 'longest_first' up to `maxLength`. */
  truncation?: boolean | TruncationStrategy | TruncationOptions;
  /** true/'longest': pad to the longest in the batch; 'max_length': pad to `maxLength`. */
  padding?: boolean | 'longest' | 'max_length' | PaddingOptions;
  maxLength?: number;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /** Remove spaces before punctuation and contractions (HF `clean_up_tokenization_spaces`). */
  cleanUpTokenizationSpaces?: boolean;
}

export type EncodeInput = string | readonly [string, string];

export interface TokenizerParts {
  model: Model;
  normalizer?: Normalizer | null;
  preTokenizer?: PreTokenizer | null;
  postProcessor?: PostProcessor | null;
  decoder?: Decoder | null;
}

/**
 * A Hugging Face-style tokenizer pipeline: added tokens -> normalizer -> pre-tokenizer -> model ->
 * post-processor, and a decoder for the way back. Loads and saves tokenizer.json unchanged.
 */
export class Tokenizer {
  model: Model;
  normalizer: Normalizer | null;
  preTokenizer: PreTokenizer | null;
  postProcessor: PostProcessor | null;
  decoder: Decoder | null;
  truncation: TruncationParams | null = null;
  padding: PaddingParams | null = null;
  readonly addedVocabulary = new AddedVocabulary();
  /** Role -> token. Inferred from the vocabulary when loading; set your own with `setSpecialTokens`. */
  specialTokens: SpecialTokens = {};

  constructor(parts: TokenizerParts) {
    this.model = parts.model;
    this.normalizer = parts.normalizer ?? null;
    this.preTokenizer = parts.preTokenizer ?? null;
    this.postProcessor = parts.postProcessor ?? null;
    this.decoder = parts.decoder ?? null;
  }

  /** Reads a tokenizer.json (a path in Node, or the file's contents as a string or bytes). */
  static async fromFile(source: FileSource): Promise<Tokenizer> {
    const { text, name } = await readSource(source, /^\s*\{/);
    return Tokenizer.fromJSON(parseJson(text, name), name);
  }

  /** Builds a tokenizer from a parsed tokenizer.json object. */
  static fromJSON(json: JsonValue, file = '<tokenizer.json>'): Tokenizer {
    const r = JsonReader.of(file, 'tokenizer.json', json);
    if (!r.has('model')) r.fail('missing "model"');
    const tok = new Tokenizer({
      model: modelFromJSON(r.raw('model') as JsonValue, file),
      normalizer: r.has('normalizer') ? normalizerFromJSON(r.raw('normalizer') as JsonValue, file) : null,
      preTokenizer: r.has('pre_tokenizer')
        ? preTokenizerFromJSON(r.raw('pre_tokenizer') as JsonValue, file)
        : null,
      postProcessor: r.has('post_processor')
        ? postProcessorFromJSON(r.raw('post_processor') as JsonValue, file)
        : null,
      decoder: r.has('decoder') ? decoderFromJSON(r.raw('decoder') as JsonValue, file) : null,
    });
    if (r.has('added_tokens')) {
      r.array('added_tokens').forEach((v, i) => {
        const t = JsonReader.of(file, `added_tokens[${i}]`, v);
        tok.addedVocabulary.add({
          id: t.number('id'),
          content: t.string('content'),
          singleWord: t.bool('single_word', false),
          lstrip: t.bool('lstrip', false),
          rstrip: t.bool('rstrip', false),
          normalized: t.bool('normalized', !t.bool('special', false)),
          special: t.bool('special', false),
        });
      });
    }
    if (r.has('truncation')) tok.truncation = truncationFromJSON(r.object('truncation'));
    if (r.has('padding')) tok.padding = paddingFromJSON(r.object('padding'));
    tok.inferSpecialTokens();
    return tok;
  }

  /** The tokenizer.json object (Hugging Face layout). */
  toJSON(): JsonObject {
    return {
      version: '1.0',
      truncation: this.truncation === null ? null : truncationToJSON(this.truncation),
      padding: this.padding === null ? null : paddingToJSON(this.padding),
      added_tokens: this.addedVocabulary.toJSON(),
      normalizer: this.normalizer?.toJSON() ?? null,
      pre_tokenizer: this.preTokenizer?.toJSON() ?? null,
      post_processor: this.postProcessor?.toJSON() ?? null,
      decoder: this.decoder?.toJSON() ?? null,
      model: this.model.toJSON(),
    };
  }

  /**
   * tokenizer.json text. The vocabulary is written in id order, as HF writes it (a JS object would
   * move integer-like tokens such as "0" to the front).
   */
  toString(pretty = false): string {
    const json = this.toJSON();
    const model = json.model as JsonObject;
    const marker = '\u0000vocab\u0000';
    const ordered = model.vocab !== undefined && !Array.isArray(model.vocab);
    if (ordered) model.vocab = marker;
    const text = JSON.stringify(json, null, pretty ? 2 : undefined);
    // A replacer function: a replacement string would expand `$$`, `$&`... found in tokens.
    const vocab = vocabJsonText(this.model.getVocab());
    return ordered ? text.replace(JSON.stringify(marker), () => vocab) : text;
  }

  /**
   * Writes tokenizer.json plus the model's own files as HF's `model.save` does: vocab.json +
   * merges.txt (BPE), vocab.txt (WordPiece), vocab.json (WordLevel); Unigram has only tokenizer.json.
   */
  async save(dir: string, options: { pretty?: boolean } = {}): Promise<void> {
    const files: Record<string, string> = { 'tokenizer.json': this.toString(options.pretty ?? false) };
    const m = this.model;
    if (m instanceof BPEModel) {
      files['vocab.json'] = vocabJsonText(m.vocab);
      files['merges.txt'] = mergesTxtText(m.merges);
    } else if (m instanceof WordPieceModel) {
      files['vocab.txt'] = vocabTxtText(m.vocab);
    } else if (m instanceof WordLevelModel) {
      files['vocab.json'] = vocabJsonText(m.vocab);
    }
    await writeFiles(dir, files);
  }

  get vocabSize(): number {
    let n = this.model.vocabSize;
    for (const t of this.addedVocabulary.all) if (this.model.tokenToId(t.content) === undefined) n++;
    return n;
  }

  getVocab(withAddedTokens = true): Map<string, number> {
    const v = this.model.getVocab();
    if (withAddedTokens) for (const t of this.addedVocabulary.all) v.set(t.content, t.id);
    return v;
  }

  tokenToId(token: string): number | undefined {
    return this.addedVocabulary.byTokenContent(token)?.id ?? this.model.tokenToId(token);
  }

  idToToken(id: number): string | undefined {
    return this.addedVocabulary.byTokenId(id)?.content ?? this.model.idToToken(id);
  }

  /** The id of a special token by role, or undefined when the tokenizer has none. */
  specialTokenId(role: SpecialTokenRole): number | undefined {
    const t = this.specialTokens[role];
    return t === undefined ? undefined : this.tokenToId(t);
  }

  /**
   * Adds tokens matched whole in raw text (HF `add_tokens` / `add_special_tokens`). Returns how many
   * were new. Existing vocabulary entries keep their id; others get ids after the vocabulary.
   */
  addTokens(
    tokens: ReadonlyArray<string | ({ content: string } & AddedTokenOptions)>,
    special = false,
  ): number {
    let added = 0;
    for (const t of tokens) {
      const opts = typeof t === 'string' ? { content: t } : t;
      if (opts.content.length === 0) continue;
      const existing = this.addedVocabulary.byTokenContent(opts.content);
      const id = existing?.id ?? this.model.tokenToId(opts.content) ?? this.nextAddedId();
      if (existing === undefined && this.model.tokenToId(opts.content) === undefined) added++;
      const isSpecial = opts.special ?? special;
      this.addedVocabulary.add({
        id,
        content: opts.content,
        singleWord: opts.singleWord ?? false,
        lstrip: opts.lstrip ?? false,
        rstrip: opts.rstrip ?? false,
        normalized: opts.normalized ?? !isSpecial,
        special: isSpecial,
      });
    }
    return added;
  }

  addSpecialTokens(tokens: ReadonlyArray<string | ({ content: string } & AddedTokenOptions)>): number {
    return this.addTokens(tokens, true);
  }

  /** Sets special-token roles; tokens not known yet are added as special tokens. */
  setSpecialTokens(roles: SpecialTokens): void {
    for (const [role, token] of Object.entries(roles) as Array<[SpecialTokenRole, string | undefined]>) {
      if (token === undefined) continue;
      if (this.addedVocabulary.byTokenContent(token) === undefined) this.addSpecialTokens([token]);
      this.specialTokens[role] = token;
    }
  }

  private nextAddedId(): number {
    let max = -1;
    for (const t of this.addedVocabulary.all) max = Math.max(max, t.id);
    const size = this.model.vocabSize;
    return max >= size ? max + 1 : size;
  }

  /** Fills `specialTokens` from usual spellings found among special tokens and the vocabulary. */
  inferSpecialTokens(): void {
    const known = (t: string): boolean => this.tokenToId(t) !== undefined;
    const modelUnk = (this.model as { unkToken?: unknown }).unkToken;
    for (const role of Object.keys(ROLE_SPELLINGS) as SpecialTokenRole[]) {
      if (this.specialTokens[role] !== undefined) continue;
      if (role === 'unk' && typeof modelUnk === 'string' && known(modelUnk)) {
        this.specialTokens.unk = modelUnk;
        continue;
      }
      const found = ROLE_SPELLINGS[role].find(known);
      if (found !== undefined) this.specialTokens[role] = found;
    }
  }

  /** Truncation applied by every encode call (stored in tokenizer.json). */
  enableTruncation(maxLength: number, options: Omit<TruncationOptions, 'maxLength'> = {}): void {
    this.truncation = {
      maxLength,
      strategy: options.strategy ?? 'longest_first',
      direction: options.direction ?? 'right',
      stride: options.stride ?? 0,
    };
  }

  disableTruncation(): void {
    this.truncation = null;
  }

  /** Padding applied by every encode call (stored in tokenizer.json). */
  enablePadding(options: PaddingOptions = {}): void {
    this.padding = this.resolvePadding(options, options.maxLength);
  }

  disablePadding(): void {
    this.padding = null;
  }

  private resolvePadding(o: PaddingOptions, maxLength: number | undefined): PaddingParams {
    const padToken = o.padToken ?? this.padding?.padToken ?? this.specialTokens.pad;
    const padId = o.padId ?? (padToken === undefined ? undefined : this.tokenToId(padToken));
    if (padToken === undefined || padId === undefined) {
      throw new Error(
        'padding: this tokenizer has no pad token; pass padding: { padToken, padId } or call setSpecialTokens({ pad })',
      );
    }
    const fixed = o.strategy === 'max_length' || (o.strategy === undefined && o.maxLength !== undefined);
    const length = o.maxLength ?? maxLength;
    if (fixed && length === undefined) throw new Error("padding: strategy 'max_length' needs maxLength");
    return {
      strategy: fixed ? (length as number) : 'longest',
      direction: o.direction ?? this.padding?.direction ?? 'right',
      padToMultipleOf: o.padToMultipleOf ?? null,
      padId,
      padTypeId: o.padTypeId ?? 0,
      padToken,
    };
  }

  private truncationFor(options: EncodeOptions): TruncationParams | null {
    const t = options.truncation;
    if (t === undefined) {
      return this.truncation && options.maxLength !== undefined
        ? { ...this.truncation, maxLength: options.maxLength }
        : this.truncation;
    }
    if (t === false) return null;
    const o: TruncationOptions = typeof t === 'object' ? t : typeof t === 'string' ? { strategy: t } : {};
    const maxLength = o.maxLength ?? options.maxLength ?? this.truncation?.maxLength;
    if (maxLength === undefined) throw new Error('truncation: needs maxLength');
    return {
      maxLength,
      strategy: o.strategy ?? this.truncation?.strategy ?? 'longest_first',
      direction: o.direction ?? this.truncation?.direction ?? 'right',
      stride: o.stride ?? this.truncation?.stride ?? 0,
    };
  }

  private paddingFor(options: EncodeOptions): PaddingParams | null {
    const p = options.padding;
    if (p === undefined) return this.padding;
    if (p === false) return null;
    if (p === true || p === 'longest') return this.resolvePadding({ strategy: 'longest' }, undefined);
    if (p === 'max_length') return this.resolvePadding({ strategy: 'max_length' }, options.maxLength);
    return this.resolvePadding(p, options.maxLength);
  }

  /** Encodes a text, or a pair of texts (`encode(a, b)`), into ids, tokens, offsets and masks. */
  encode(text: string, pairOrOptions?: string | EncodeOptions | null, options: EncodeOptions = {}): Encoding {
    let pair: string | null = null;
    if (typeof pairOrOptions === 'string') pair = pairOrOptions;
    else if (pairOrOptions) options = pairOrOptions;
    const a = this.encodeSequence(text, 0);
    const b = pair === null ? null : this.encodeSequence(pair, 1);
    const out = this.postProcess(a, b, options.addSpecialTokens ?? true, this.truncationFor(options));
    const padding = this.paddingFor(options);
    return padding === null ? out : padBatch([out], padding)[0];
  }

  /** Encodes many inputs; padding ('longest' by default when enabled) applies across the batch. */
  encodeBatch(inputs: readonly EncodeInput[], options: EncodeOptions = {}): Encoding[] {
    const truncation = this.truncationFor(options);
    const addSpecial = options.addSpecialTokens ?? true;
    const out = inputs.map((input) => {
      const [text, pair] = typeof input === 'string' ? [input, null] : input;
      const a = this.encodeSequence(text, 0);
      const b = pair === null ? null : this.encodeSequence(pair, 1);
      return this.postProcess(a, b, addSpecial, truncation);
    });
    const padding = this.paddingFor(options);
    return padding === null ? out : padBatch(out, padding);
  }

  /** True when the fused byte-level path gives the same result as the generic pipeline. */
  private get usesByteLevelFastPath(): boolean {
    const p = this.preTokenizer;
    return (
      this.normalizer === null &&
      p instanceof ByteLevelPreTokenizer &&
      p.useRegex &&
      !p.addPrefixSpace &&
      this.model instanceof BPEModel &&
      this.model.supportsByteLevelFastPath
    );
  }

  /** One input through added tokens, normalizer, pre-tokenizer and model (no special tokens). */
  private encodeSequence(text: string, typeId: number): Encoding {
    const sink = new TokenSink(text.length >> 2);
    /** Tokens whose string is not their vocabulary entry, by position. */
    const tokenText = new Map<number, string>();
    const table = this.idToTokenTable();
    const fast = this.usesByteLevelFastPath;
    for (const piece of this.addedVocabulary.extractAndNormalize(text, this.normalizer)) {
      const ns = piece.ns;
      if (piece.token !== null) {
        const [s, e] = ns.originalRange(0, ns.length);
        // HF's token string is the matched text, stripped whitespace (lstrip/rstrip) included.
        if (ns.normalized !== piece.token.content) tokenText.set(sink.length, ns.normalized);
        sink.push(piece.token.id, s, e);
        continue;
      }
      if (ns.length === 0) continue;
      if (fast) {
        (this.model as BPEModel).encodeByteLevel(ns.normalized, ns.originalStart, sink);
        continue;
      }
      const words = this.preTokenizer ? this.preTokenizer.preTokenize([ns]) : [ns];
      for (const w of words) {
        for (const t of this.model.tokenize(w.normalized)) {
          const [s, e] = w.originalRange(t.start, t.end);
          // A model may name a token other than by its vocabulary entry (Unigram's unknown text).
          if (t.value !== table[t.id]) tokenText.set(sink.length, t.value);
          sink.push(t.id, s, e);
        }
      }
    }
    const n = sink.length;
    const ids = sink.ids.slice(0, n);
    return new Encoding({
      ids,
      typeIds: new Int32Array(n).fill(typeId),
      tokens: () => {
        const tokens = Array.from(ids, (id) => table[id]);
        for (const [i, t] of tokenText) tokens[i] = t;
        return tokens;
      },
      offsets: sink.offsets.slice(0, 2 * n),
      attentionMask: new Int32Array(n).fill(1),
      specialTokensMask: new Int32Array(n),
      sequenceIds: new Int32Array(n).fill(typeId),
    });
  }

  private tokenTable: string[] | null = null;
  private tokenTableAddedCount = -1;

  /** id -> token for the model and added tokens, rebuilt when tokens are added. */
  private idToTokenTable(): string[] {
    if (this.tokenTable === null || this.tokenTableAddedCount !== this.addedVocabulary.size) {
      const table: string[] = [];
      for (const [token, id] of this.model.getVocab()) table[id] = token;
      for (const t of this.addedVocabulary.all) table[t.id] = t.content;
      this.tokenTable = table;
      this.tokenTableAddedCount = this.addedVocabulary.size;
    }
    return this.tokenTable;
  }

  private postProcess(
    a: Encoding,
    b: Encoding | null,
    addSpecialTokens: boolean,
    truncation: TruncationParams | null,
  ): Encoding {
    if (truncation !== null) {
      const added = addSpecialTokens && this.postProcessor ? this.postProcessor.addedTokens(b !== null) : 0;
      if (added > truncation.maxLength) {
        throw new Error(
          `truncation: maxLength ${truncation.maxLength} leaves no room for ${added} special tokens`,
        );
      }
      [a, b] = truncatePair(a, b, { ...truncation, maxLength: truncation.maxLength - added });
    }
    return this.postProcessor ? this.postProcessor.process(a, b, addSpecialTokens) : defaultProcess(a, b);
  }

  /**
   * Ids back to text. Invalid UTF-8 (e.g. half of an emoji's bytes) becomes U+FFFD, as in HF and
   * tiktoken. Ids outside the vocabulary are an error (HF silently drops them).
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? false;
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const added = this.addedVocabulary.byTokenId(id);
      const token = added?.content ?? this.model.idToToken(id);
      if (token === undefined) {
        throw new RangeError(
          `decode: id ${id} (position ${i}) is not in the vocabulary (size ${this.vocabSize})`,
        );
      }
      if (skip && (added ?? this.addedVocabulary.byTokenContent(token))?.special) continue;
      tokens.push(token);
    }
    const text = this.decoder ? decodeTokens(this.decoder, tokens) : tokens.join(' ');
    return options.cleanUpTokenizationSpaces ? cleanUpTokenization(text) : text;
  }

  decodeBatch(batch: ReadonlyArray<ArrayLike<number>>, options: DecodeOptions = {}): string[] {
    return batch.map((ids) => this.decode(ids, options));
  }
}
