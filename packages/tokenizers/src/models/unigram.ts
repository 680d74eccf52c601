import type { JsonObject } from '../io/json.js';
import type { Model, ModelToken } from './model.js';

/** HF's penalty below the lowest piece score for an unknown character. */
const UNK_PENALTY = 10;

/**
 * Unigram language model (Kudo 2018; SentencePiece), HF's `Unigram` model: the segmentation with
 * the highest total log-probability, found by Viterbi over character positions. As in HF,
 * consecutive unknown characters fuse into one unknown token whose string is the source text,
 * equal scores keep the shorter piece, and `byteFallback` spells unknown text as `<0xNN>` pieces.
 */
export class UnigramModel implements Model {
  readonly type = 'Unigram';
  private readonly ids = new Map<string, number>();
  private readonly minScore: number;
  private readonly maxPieceLength: number;
  private readonly cache = new Map<string, ModelToken[]>();

  constructor(
    /** [piece, log-probability] in id order */
    readonly pieces: ReadonlyArray<readonly [string, number]>,
    readonly unkId: number | null = null,
    readonly byteFallback = false,
  ) {
    let min = Number.POSITIVE_INFINITY;
    let maxLen = 1;
    pieces.forEach(([piece, score], id) => {
      this.ids.set(piece, id);
      min = Math.min(min, score);
      maxLen = Math.max(maxLen, piece.length);
    });
    this.minScore = min;
    this.maxPieceLength = maxLen;
    if (unkId !== null && (unkId < 0 || unkId >= pieces.length)) {
      throw new Error(`Unigram: unk_id ${unkId} is outside the vocabulary (size ${pieces.length})`);
    }
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  getVocab(): Map<string, number> {
    return new Map(this.ids);
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.pieces[id]?.[0];
  }

  tokenize(word: string): ModelToken[] {
    const cached = this.cache.get(word);
    if (cached !== undefined) return cached;
    const tokens = this.tokenizeUncached(word);
    if (this.cache.size >= 100_000) this.cache.clear();
    this.cache.set(word, tokens);
    return tokens;
  }

  /** The best segmentation of `s` as [start, end) code-unit ranges, unknown runs fused. */
  private segment(s: string): Array<[number, number]> {
    const n = s.length;
    const score = new Float64Array(n + 1);
    const from = new Int32Array(n + 1).fill(-1);
    const isUnk = new Uint8Array(n + 1);
    const unkScore = this.minScore - UNK_PENALTY;
    for (let start = 0; start < n; ) {
      const c = s.charCodeAt(start);
      const charLen =
        c >= 0xd800 && c <= 0xdbff && start + 1 < n && (s.charCodeAt(start + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      if (start > 0 && from[start] < 0) {
        start += charLen;
        continue;
      }
      const base = score[start];
      let single = false;
      // Pieces starting here, shortest first (HF's trie prefix search order): ties keep the first.
      for (let end = start + 1; end <= Math.min(n, start + this.maxPieceLength); end++) {
        const id = this.ids.get(s.slice(start, end));
        if (id === undefined) continue;
        const candidate = base + this.pieces[id][1];
        if (from[end] < 0 || candidate > score[end]) {
          score[end] = candidate;
          from[end] = start;
          isUnk[end] = 0;
        }
        if (end - start === charLen) single = true;
      }
      if (!single) {
        if (this.unkId === null)
          throw new Error(
            `Unigram: no piece for ${JSON.stringify(s.slice(start, start + charLen))} and no unk_id`,
          );
        const end = start + charLen;
        const candidate = base + unkScore;
        if (from[end] < 0 || candidate > score[end]) {
          score[end] = candidate;
          from[end] = start;
          isUnk[end] = 1;
        }
      }
      start += charLen;
    }
    const out: Array<[number, number]> = [];
    let fusedEnd = -1;
    for (let end = n; end > 0; ) {
      const start = from[end];
      if (isUnk[end] || this.ids.get(s.slice(start, end)) === this.unkId) {
        if (fusedEnd < 0) fusedEnd = end;
      } else {
        if (fusedEnd >= 0) out.push([end, fusedEnd]);
        fusedEnd = -1;
        out.push([start, end]);
      }
      end = start;
    }
    if (fusedEnd >= 0) out.push([0, fusedEnd]);
    return out.reverse();
  }

  private tokenizeUncached(word: string): ModelToken[] {
    const out: ModelToken[] = [];
    for (const [start, end] of this.segment(word)) {
      const piece = word.slice(start, end);
      const id = this.ids.get(piece);
      if (id !== undefined) {
        out.push({ id, value: piece, start, end });
        continue;
      }
      if (this.byteFallback) {
        const bytes = Array.from(
          new TextEncoder().encode(piece),
          (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
        );
        if (bytes.every((b) => this.ids.has(b))) {
          for (const b of bytes) out.push({ id: this.ids.get(b) as number, value: b, start, end });
          continue;
        }
      }
      // HF keeps the source text as the token string of an unknown piece.
      out.push({ id: this.unkId as number, value: piece, start, end });
    }
    return out;
  }

  toJSON(): JsonObject {
    return {
      type: 'Unigram',
      unk_id: this.unkId,
      vocab: this.pieces.map(([p, s]) => [p, s]),
      byte_fallback: this.byteFallback,
    };
  }
}
