/** The fields of an encoding, as produced by the pipeline. */
export interface EncodingFields {
  ids: number[];
  typeIds: number[];
  tokens: string[];
  /** start, end pairs (UTF-16 code units of the input string), flattened */
  offsets: number[];
  attentionMask: number[];
  specialTokensMask: number[];
  /** which input each token came from: 0, 1 (pair) or null (added special tokens) */
  sequenceIds: Array<number | null>;
  overflowing?: Encoding[];
}

/**
 * The result of encoding one input (HF's `Encoding`). Arrays are plain JS arrays so that models can
 * turn them into tensors of any dtype. `offsets` index the original JS string (UTF-16 code units)
 * so that `text.slice(start, end)` is the token's source text; they are materialized on first use
 * because most callers only need the ids.
 */
export class Encoding {
  readonly ids: number[];
  readonly typeIds: number[];
  readonly tokens: string[];
  readonly attentionMask: number[];
  readonly specialTokensMask: number[];
  readonly sequenceIds: Array<number | null>;
  /** Windows cut off by truncation (with `stride` tokens of overlap), each already post-processed. */
  readonly overflowing: Encoding[];
  private readonly flatOffsets: number[];
  private offsetPairs: Array<[number, number]> | null = null;

  constructor(fields: EncodingFields) {
    this.ids = fields.ids;
    this.typeIds = fields.typeIds;
    this.tokens = fields.tokens;
    this.flatOffsets = fields.offsets;
    this.attentionMask = fields.attentionMask;
    this.specialTokensMask = fields.specialTokensMask;
    this.sequenceIds = fields.sequenceIds;
    this.overflowing = fields.overflowing ?? [];
  }

  get length(): number {
    return this.ids.length;
  }

  /** [start, end) in the input string for each token; special tokens get [0, 0]. */
  get offsets(): Array<[number, number]> {
    if (this.offsetPairs === null) {
      const f = this.flatOffsets;
      const pairs: Array<[number, number]> = new Array(f.length / 2);
      for (let i = 0; i < pairs.length; i++) pairs[i] = [f[2 * i], f[2 * i + 1]];
      this.offsetPairs = pairs;
    }
    return this.offsetPairs;
  }

  /** The flat offsets array (start0, end0, start1, ...), without allocating pairs. */
  get flatOffsetArray(): readonly number[] {
    return this.flatOffsets;
  }

  fields(): EncodingFields {
    return {
      ids: [...this.ids],
      typeIds: [...this.typeIds],
      tokens: [...this.tokens],
      offsets: [...this.flatOffsets],
      attentionMask: [...this.attentionMask],
      specialTokensMask: [...this.specialTokensMask],
      sequenceIds: [...this.sequenceIds],
      overflowing: this.overflowing,
    };
  }

  /** Tokens [start, end) as a new encoding (no overflow). */
  slice(start: number, end: number): Encoding {
    return new Encoding({
      ids: this.ids.slice(start, end),
      typeIds: this.typeIds.slice(start, end),
      tokens: this.tokens.slice(start, end),
      offsets: this.flatOffsets.slice(2 * start, 2 * end),
      attentionMask: this.attentionMask.slice(start, end),
      specialTokensMask: this.specialTokensMask.slice(start, end),
      sequenceIds: this.sequenceIds.slice(start, end),
    });
  }

  /** Concatenation (HF `Encoding::merge` without growing offsets). */
  static concat(parts: readonly Encoding[], overflowing: Encoding[] = []): Encoding {
    const f: EncodingFields = {
      ids: [],
      typeIds: [],
      tokens: [],
      offsets: [],
      attentionMask: [],
      specialTokensMask: [],
      sequenceIds: [],
      overflowing,
    };
    for (const p of parts) {
      pushAll(f.ids, p.ids);
      pushAll(f.typeIds, p.typeIds);
      pushAll(f.tokens, p.tokens);
      pushAll(f.offsets, p.flatOffsets);
      pushAll(f.attentionMask, p.attentionMask);
      pushAll(f.specialTokensMask, p.specialTokensMask);
      pushAll(f.sequenceIds, p.sequenceIds);
    }
    return new Encoding(f);
  }

  /** A copy with every type id set to `typeId` and every sequence id to `sequenceId`. */
  withSequence(typeId: number, sequenceId: number): Encoding {
    const f = this.fields();
    f.typeIds.fill(typeId);
    f.sequenceIds.fill(sequenceId);
    f.overflowing = this.overflowing.map((o) => o.withSequence(typeId, sequenceId));
    return new Encoding(f);
  }

  /** Special tokens as an encoding: offsets [0, 0], special mask 1, no sequence. */
  static special(ids: number[], tokens: string[], typeId: number): Encoding {
    const n = ids.length;
    return new Encoding({
      ids: [...ids],
      typeIds: new Array(n).fill(typeId),
      tokens: [...tokens],
      offsets: new Array(2 * n).fill(0),
      attentionMask: new Array(n).fill(1),
      specialTokensMask: new Array(n).fill(1),
      sequenceIds: new Array(n).fill(null),
    });
  }
}

/** push(...src) without the argument-count limit of spread calls on huge arrays. */
export function pushAll<T>(dst: T[], src: readonly T[]): void {
  for (let i = 0; i < src.length; i++) dst.push(src[i]);
}
