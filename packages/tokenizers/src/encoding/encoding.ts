/** The fields of an encoding, as produced by the pipeline. */
export interface EncodingFields {
  ids: Int32Array;
  typeIds: Int32Array;
  /** The tokens, or a function computing them on first use. */
  tokens: readonly string[] | (() => string[]);
  /** start, end pairs (UTF-16 code units of the input string), flattened */
  offsets: Int32Array;
  attentionMask: Int32Array;
  specialTokensMask: Int32Array;
  /** which input each token came from: 0, 1 (pair) or -1 (added special tokens, padding) */
  sequenceIds: Int32Array;
  overflowing?: Encoding[];
}

/**
 * The result of encoding one input (HF's `Encoding`). Numeric fields are Int32Arrays: a model turns
 * them into int32 tensors without a copy, and a 5 MB text does not cost six million-element JS
 * arrays (use `Array.from(enc.ids)` for a plain array). `tokens` and `offsets` are built on first
 * use because most callers only need the ids. Offsets index the original JS string (UTF-16 code
 * units), so `text.slice(start, end)` is a token's source text.
 */
export class Encoding {
  readonly ids: Int32Array;
  readonly typeIds: Int32Array;
  readonly attentionMask: Int32Array;
  readonly specialTokensMask: Int32Array;
  /** Windows cut off by truncation (with `stride` tokens of overlap), each already post-processed. */
  readonly overflowing: Encoding[];
  private readonly flatOffsets: Int32Array;
  private readonly sequence: Int32Array;
  private tokenList: readonly string[] | (() => string[]);
  private offsetPairs: Array<[number, number]> | null = null;

  constructor(fields: EncodingFields) {
    this.ids = fields.ids;
    this.typeIds = fields.typeIds;
    this.tokenList = fields.tokens;
    this.flatOffsets = fields.offsets;
    this.attentionMask = fields.attentionMask;
    this.specialTokensMask = fields.specialTokensMask;
    this.sequence = fields.sequenceIds;
    this.overflowing = fields.overflowing ?? [];
  }

  get length(): number {
    return this.ids.length;
  }

  /** The vocabulary string of each token. */
  get tokens(): string[] {
    if (typeof this.tokenList === 'function') this.tokenList = this.tokenList();
    return this.tokenList as string[];
  }

  /** [start, end) in the input string for each token; special tokens and padding get [0, 0]. */
  get offsets(): Array<[number, number]> {
    if (this.offsetPairs === null) {
      const f = this.flatOffsets;
      const pairs: Array<[number, number]> = new Array(f.length / 2);
      for (let i = 0; i < pairs.length; i++) pairs[i] = [f[2 * i], f[2 * i + 1]];
      this.offsetPairs = pairs;
    }
    return this.offsetPairs;
  }

  /** Which input each token came from: 0, 1 (second of a pair) or null (special tokens, padding). */
  get sequenceIds(): Array<number | null> {
    return Array.from(this.sequence, (s) => (s < 0 ? null : s));
  }

  /** The offsets as one flat array (start0, end0, start1, ...), without allocating pairs. */
  get flatOffsetArray(): Int32Array {
    return this.flatOffsets;
  }

  /** Copies of the fields, for building a modified encoding. */
  fields(): EncodingFields {
    return {
      ids: this.ids.slice(),
      typeIds: this.typeIds.slice(),
      tokens: [...this.tokens],
      offsets: this.flatOffsets.slice(),
      attentionMask: this.attentionMask.slice(),
      specialTokensMask: this.specialTokensMask.slice(),
      sequenceIds: this.sequence.slice(),
      overflowing: this.overflowing,
    };
  }

  /** Tokens [start, end) as a new encoding (no overflow). */
  slice(start: number, end: number): Encoding {
    return new Encoding({
      ids: this.ids.slice(start, end),
      typeIds: this.typeIds.slice(start, end),
      tokens: () => this.tokens.slice(start, end),
      offsets: this.flatOffsets.slice(2 * start, 2 * end),
      attentionMask: this.attentionMask.slice(start, end),
      specialTokensMask: this.specialTokensMask.slice(start, end),
      sequenceIds: this.sequence.slice(start, end),
    });
  }

  /** Concatenation (HF `Encoding::merge` without growing offsets). */
  static concat(parts: readonly Encoding[], overflowing: Encoding[] = []): Encoding {
    const join = (pick: (e: Encoding) => Int32Array): Int32Array => {
      const out = new Int32Array(parts.reduce((n, p) => n + pick(p).length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(pick(p), at);
        at += pick(p).length;
      }
      return out;
    };
    return new Encoding({
      ids: join((e) => e.ids),
      typeIds: join((e) => e.typeIds),
      tokens: () => parts.flatMap((p) => p.tokens),
      offsets: join((e) => e.flatOffsets),
      attentionMask: join((e) => e.attentionMask),
      specialTokensMask: join((e) => e.specialTokensMask),
      sequenceIds: join((e) => e.sequence),
      overflowing,
    });
  }

  /** A copy with every type id set to `typeId` and every sequence id to `sequenceId`. */
  withSequence(typeId: number, sequenceId: number): Encoding {
    return new Encoding({
      ids: this.ids,
      typeIds: new Int32Array(this.length).fill(typeId),
      tokens: () => this.tokens,
      offsets: this.flatOffsets,
      attentionMask: this.attentionMask,
      specialTokensMask: this.specialTokensMask,
      sequenceIds: new Int32Array(this.length).fill(sequenceId),
      overflowing: this.overflowing.map((o) => o.withSequence(typeId, sequenceId)),
    });
  }

  /** Special tokens as an encoding: offsets [0, 0], special mask 1, no sequence. */
  static special(ids: readonly number[], tokens: readonly string[], typeId: number): Encoding {
    const n = ids.length;
    return new Encoding({
      ids: Int32Array.from(ids),
      typeIds: new Int32Array(n).fill(typeId),
      tokens: [...tokens],
      offsets: new Int32Array(2 * n),
      attentionMask: new Int32Array(n).fill(1),
      specialTokensMask: new Int32Array(n).fill(1),
      sequenceIds: new Int32Array(n).fill(-1),
    });
  }
}
