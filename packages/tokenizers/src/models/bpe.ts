import { TokenizerFileError } from '../io/errors.js';
import type { JsonObject, JsonValue } from '../io/json.js';
import { utf8WithOffsets } from '../io/utf8.js';
import { BYTE_TO_CHAR } from '../pre-tokenizers/byte-level-alphabet.js';
import { gpt2MatchEnd, hashRange } from '../pre-tokenizers/gpt2-scanner.js';
import { applyMerges, MergeTable } from './merge-table.js';
import { invertVocab, type Model, type ModelToken, vocabToJSON } from './model.js';
import { WordCache } from './word-cache.js';

export interface BPEOptions {
  unkToken?: string | null;
  continuingSubwordPrefix?: string | null;
  endOfWordSuffix?: string | null;
  fuseUnk?: boolean;
  byteFallback?: boolean;
  ignoreMerges?: boolean;
  /** Kept for tokenizer.json round trips; encoding here is deterministic (see README). */
  dropout?: number | null;
  /** How tokenizer.json spells merges: `"a b"` strings (older files) or `["a", "b"]` pairs. */
  mergesFormat?: 'strings' | 'pairs';
}

/** Growable typed arrays that collect ids and offsets without token objects. */
export class TokenSink {
  ids: Int32Array;
  /** start, end pairs in code units of the encoded text */
  offsets: Int32Array;
  length = 0;

  constructor(capacity = 256) {
    this.ids = new Int32Array(Math.max(16, capacity));
    this.offsets = new Int32Array(2 * this.ids.length);
  }

  push(id: number, start: number, end: number): void {
    if (this.length === this.ids.length) this.grow(this.length + 1);
    const n = this.length++;
    this.ids[n] = id;
    this.offsets[2 * n] = start;
    this.offsets[2 * n + 1] = end;
  }

  grow(min: number): void {
    let cap = this.ids.length * 2;
    while (cap < min) cap *= 2;
    const ids = new Int32Array(cap);
    ids.set(this.ids);
    const offsets = new Int32Array(2 * cap);
    offsets.set(this.offsets);
    this.ids = ids;
    this.offsets = offsets;
  }
}

/** Scratch symbol buffers for encoding one word (results are copied out). */
let scratchIds = new Int32Array(1024);
let scratchFirsts = new Int32Array(1024);

/** How many distinct words the encoder remembers before starting over. */
const CACHE_LIMIT = 262_144;

/**
 * Byte-pair encoding (Sennrich et al.), HF's `BPE` model. Merges are applied by rank with the
 * integer-keyed merge table; results are cached per word because natural text repeats words.
 */
export class BPEModel implements Model {
  readonly type = 'BPE';
  readonly vocab: Map<string, number>;
  readonly merges: ReadonlyArray<readonly [string, string]>;
  readonly unkToken: string | null;
  readonly continuingSubwordPrefix: string | null;
  readonly endOfWordSuffix: string | null;
  readonly fuseUnk: boolean;
  readonly byteFallback: boolean;
  readonly ignoreMerges: boolean;
  readonly dropout: number | null;
  readonly mergesFormat: 'strings' | 'pairs';
  private readonly idToTokenTable: string[];
  private readonly table: MergeTable;
  private readonly cache = new Map<string, ModelToken[]>();
  /** Per raw word: [n, ids..., (start, end)...] for the fused byte-level path. */
  private readonly byteCache = new WordCache(CACHE_LIMIT);
  /** Vocabulary ids of the 256 byte characters, or null when some are missing. */
  readonly byteIds: Int32Array | null;

  constructor(
    vocab: Map<string, number>,
    merges: ReadonlyArray<readonly [string, string]>,
    options: BPEOptions = {},
  ) {
    this.vocab = vocab;
    this.merges = merges;
    this.unkToken = options.unkToken ?? null;
    this.continuingSubwordPrefix = options.continuingSubwordPrefix ?? null;
    this.endOfWordSuffix = options.endOfWordSuffix ?? null;
    this.fuseUnk = options.fuseUnk ?? false;
    this.byteFallback = options.byteFallback ?? false;
    this.ignoreMerges = options.ignoreMerges ?? false;
    this.dropout = options.dropout ?? null;
    this.mergesFormat = options.mergesFormat ?? 'pairs';
    this.idToTokenTable = invertVocab(vocab);
    this.table = new MergeTable(merges.length);
    const prefixLen = this.continuingSubwordPrefix?.length ?? 0;
    for (let rank = 0; rank < merges.length; rank++) {
      const [a, b] = merges[rank];
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      // HF strips the continuing-subword prefix from the right part when forming the new token.
      const merged =
        a + (prefixLen > 0 && b.startsWith(this.continuingSubwordPrefix ?? '') ? b.slice(prefixLen) : b);
      const im = vocab.get(merged);
      if (ia === undefined || ib === undefined || im === undefined) {
        const missing = ia === undefined ? a : ib === undefined ? b : merged;
        throw new Error(
          `BPE: merge ${rank + 1} ("${a} ${b}") uses "${missing}", which is not in the vocabulary`,
        );
      }
      this.table.set(ia, ib, rank, im);
    }
    const byteIds = new Int32Array(256);
    let complete = true;
    for (let b = 0; b < 256; b++) {
      const id = vocab.get(BYTE_TO_CHAR[b]);
      if (id === undefined) complete = false;
      else byteIds[b] = id;
    }
    this.byteIds = complete ? byteIds : null;
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

  /** True when words can be encoded straight from their UTF-8 bytes (GPT-2 style models). */
  get supportsByteLevelFastPath(): boolean {
    return (
      this.byteIds !== null &&
      !this.continuingSubwordPrefix &&
      !this.endOfWordSuffix &&
      !this.ignoreMerges &&
      !this.byteFallback
    );
  }

  tokenize(word: string): ModelToken[] {
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached;
    const tokens = this.tokenizeUncached(word);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, tokens);
    return tokens;
  }

  private tokenizeUncached(word: string): ModelToken[] {
    if (this.ignoreMerges) {
      const id = this.vocab.get(word);
      if (id !== undefined) return [{ id, value: word, start: 0, end: word.length }];
    }
    // Initial symbols, one per character, following HF's `merge_word`: prefix on non-first
    // characters, suffix on the last, byte fallback or (optionally fused) unknown token otherwise.
    const symIds: number[] = [];
    // Per initial symbol, the code-unit range it covers: byte-fallback symbols of one character
    // all cover the whole character, as in HF.
    const symStart: number[] = [];
    const symEnd: number[] = [];
    let pos = 0;
    let unkId = -1;
    let unkStart = 0;
    let unkEnd = 0;
    const flushUnk = (): void => {
      if (unkId >= 0) {
        symIds.push(unkId);
        symStart.push(unkStart);
        symEnd.push(unkEnd);
        unkId = -1;
      }
    };
    const chars = Array.from(word);
    for (let c = 0; c < chars.length; c++) {
      const ch = chars[c];
      let s = ch;
      if (c > 0 && this.continuingSubwordPrefix) s = this.continuingSubwordPrefix + s;
      if (c === chars.length - 1 && this.endOfWordSuffix) s = s + this.endOfWordSuffix;
      const id = this.vocab.get(s);
      const fallback = id === undefined && this.byteFallback ? this.byteFallbackIds(s) : null;
      if (id !== undefined || fallback !== null) {
        flushUnk();
        for (const sym of fallback ?? [id as number]) {
          symIds.push(sym);
          symStart.push(pos);
          symEnd.push(pos + ch.length);
        }
      } else if (this.unkToken !== null) {
        const unk = this.vocab.get(this.unkToken);
        if (unk === undefined) throw new Error(`BPE: unk_token "${this.unkToken}" is not in the vocabulary`);
        if (!this.fuseUnk) flushUnk();
        if (unkId < 0) {
          unkId = unk;
          unkStart = pos;
        }
        unkEnd = pos + ch.length;
      }
      pos += ch.length;
    }
    flushUnk();
    const n = symIds.length;
    const ids = Int32Array.from(symIds);
    const firsts = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) firsts[i] = i;
    const m = applyMerges(this.table, ids, firsts, n);
    const out: ModelToken[] = [];
    for (let i = 0; i < m; i++) {
      const last = (i + 1 < m ? firsts[i + 1] : n) - 1;
      out.push({
        id: ids[i],
        value: this.idToTokenTable[ids[i]],
        start: symStart[firsts[i]],
        end: symEnd[last],
      });
    }
    return out;
  }

  /** The `<0xNN>` tokens for the UTF-8 bytes of `s`, or null if one is missing. */
  private byteFallbackIds(s: string): number[] | null {
    const found: number[] = [];
    for (const b of new TextEncoder().encode(s)) {
      const id = this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      if (id === undefined) return null;
      found.push(id);
    }
    return found;
  }

  /**
   * The fused GPT-2 path: scans `text` with the GPT-2 split pattern and encodes each word from its
   * UTF-8 bytes, skipping the character mapping and token objects of the generic pipeline.
   * Offsets are `base` + code units; a token that covers part of a character gets the whole
   * character's range, as in HF.
   */
  encodeByteLevel(text: string, base: number, sink: TokenSink): void {
    const cache = this.byteCache;
    let { ids, offsets } = sink;
    let n = sink.length;
    const end = text.length;
    for (let i = 0; i < end; ) {
      const j = gpt2MatchEnd(text, i, end);
      const hash = hashRange(text, i, j);
      let packed = cache.get(text, i, j, hash);
      if (packed === undefined) {
        const word = text.slice(i, j);
        packed = this.encodeBytesOfWord(word);
        cache.set(word, hash, packed);
      }
      const k = packed[0];
      if (n + k > ids.length) {
        sink.grow(n + k);
        ids = sink.ids;
        offsets = sink.offsets;
      }
      const at = base + i;
      for (let t = 0; t < k; t++) {
        ids[n] = packed[1 + t];
        offsets[2 * n] = at + packed[1 + k + 2 * t];
        offsets[2 * n + 1] = at + packed[2 + k + 2 * t];
        n++;
      }
      i = j;
    }
    sink.length = n;
  }

  private encodeBytesOfWord(word: string): Int32Array {
    const byteIds = this.byteIds as Int32Array;
    const u = utf8WithOffsets(word);
    const n = u.length;
    if (scratchIds.length < n + 1) {
      scratchIds = new Int32Array(2 * n + 1);
      scratchFirsts = new Int32Array(2 * n + 1);
    }
    const ids = scratchIds;
    const firsts = scratchFirsts;
    for (let i = 0; i < n; i++) {
      ids[i] = byteIds[u.bytes[i]];
      firsts[i] = i;
    }
    const m = applyMerges(this.table, ids, firsts, n);
    const packed = new Int32Array(1 + 3 * m);
    packed[0] = m;
    for (let i = 0; i < m; i++) {
      const lastByte = (i + 1 < m ? firsts[i + 1] : n) - 1;
      packed[1 + i] = ids[i];
      packed[1 + m + 2 * i] = u.charStart[firsts[i]];
      packed[2 + m + 2 * i] = u.charEnd[lastByte];
    }
    return packed;
  }

  toJSON(): JsonObject {
    const merges: JsonValue[] =
      this.mergesFormat === 'strings'
        ? this.merges.map(([a, b]) => `${a} ${b}`)
        : this.merges.map(([a, b]) => [a, b]);
    return {
      type: 'BPE',
      dropout: this.dropout,
      unk_token: this.unkToken,
      continuing_subword_prefix: this.continuingSubwordPrefix,
      end_of_word_suffix: this.endOfWordSuffix,
      fuse_unk: this.fuseUnk,
      byte_fallback: this.byteFallback,
      ignore_merges: this.ignoreMerges,
      vocab: vocabToJSON(this.vocab),
      merges,
    };
  }
}

/** Parses one merges entry in either spelling; `where` names the file and entry for errors. */
export function parseMerge(entry: JsonValue, file: string, where: string): [string, string] {
  if (typeof entry === 'string') {
    const parts = entry.split(' ');
    if (parts.length !== 2) {
      throw new TokenizerFileError(file, `${where}: expected "left right", got ${JSON.stringify(entry)}`);
    }
    return [parts[0], parts[1]];
  }
  if (
    Array.isArray(entry) &&
    entry.length === 2 &&
    typeof entry[0] === 'string' &&
    typeof entry[1] === 'string'
  ) {
    return [entry[0], entry[1]];
  }
  throw new TokenizerFileError(
    file,
    `${where}: expected "left right" or ["left", "right"], got ${JSON.stringify(entry)}`,
  );
}
