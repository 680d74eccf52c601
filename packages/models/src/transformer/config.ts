// TransformerConfig: the sizes of the encoder-decoder translation model. There is no Hugging Face
// layout for this model, so config.json holds these camelCase fields as they are; defaults are the
// base model of "Attention Is All You Need" (table 3) apart from the vocabularies, which are required.

/** The config.json fields of a Transformer. */
export interface TransformerConfigFields {
  srcVocabSize: number;
  tgtVocabSize: number;
  dModel: number;
  nhead: number;
  numEncoderLayers: number;
  numDecoderLayers: number;
  dimFeedforward: number;
  /** Dropout after the positional encoding and inside every layer (training only). */
  dropout: number;
  /** Longest source or target sequence: the rows of the sinusoidal position table. */
  maxLength: number;
  /** Padding in both vocabularies: masked as an attention key and ignored by the loss. */
  padTokenId: number;
  /** First decoder input of every translation. */
  bosTokenId: number;
  /** End of a translation: decoding stops when it is produced. */
  eosTokenId: number;
}

const DEFAULTS: Omit<TransformerConfigFields, 'srcVocabSize' | 'tgtVocabSize'> = {
  dModel: 512,
  nhead: 8,
  numEncoderLayers: 6,
  numDecoderLayers: 6,
  dimFeedforward: 2048,
  dropout: 0.1,
  maxLength: 256,
  padTokenId: 0,
  bosTokenId: 1,
  eosTokenId: 2,
};

const FIELDS: readonly (keyof TransformerConfigFields)[] = [
  'srcVocabSize',
  'tgtVocabSize',
  ...(Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]),
];

export type TransformerConfigInit = Pick<TransformerConfigFields, 'srcVocabSize' | 'tgtVocabSize'> &
  Partial<TransformerConfigFields>;

export class TransformerConfig implements TransformerConfigFields {
  srcVocabSize: number;
  tgtVocabSize: number;
  dModel: number;
  nhead: number;
  numEncoderLayers: number;
  numDecoderLayers: number;
  dimFeedforward: number;
  dropout: number;
  maxLength: number;
  padTokenId: number;
  bosTokenId: number;
  eosTokenId: number;

  constructor(fields: TransformerConfigInit) {
    const f: TransformerConfigFields = { ...DEFAULTS, ...fields };
    this.srcVocabSize = f.srcVocabSize;
    this.tgtVocabSize = f.tgtVocabSize;
    this.dModel = f.dModel;
    this.nhead = f.nhead;
    this.numEncoderLayers = f.numEncoderLayers;
    this.numDecoderLayers = f.numDecoderLayers;
    this.dimFeedforward = f.dimFeedforward;
    this.dropout = f.dropout;
    this.maxLength = f.maxLength;
    this.padTokenId = f.padTokenId;
    this.bosTokenId = f.bosTokenId;
    this.eosTokenId = f.eosTokenId;
    this.validate();
  }

  /** Reads a parsed config.json; unknown fields are an error rather than silently dropped. */
  static fromJSON(json: Record<string, unknown>): TransformerConfig {
    const unknown = Object.keys(json).filter((key) => !(FIELDS as readonly string[]).includes(key));
    if (unknown.length > 0)
      throw new Error(
        `TransformerConfig: unknown field(s) ${unknown.join(', ')} (known: ${FIELDS.join(', ')})`,
      );
    for (const key of ['srcVocabSize', 'tgtVocabSize'] as const)
      if (!(key in json)) throw new Error(`TransformerConfig: config.json has no ${key}`);
    return new TransformerConfig(json as unknown as TransformerConfigInit);
  }

  private validate(): void {
    const positive = [
      'srcVocabSize',
      'tgtVocabSize',
      'dModel',
      'nhead',
      'numEncoderLayers',
      'numDecoderLayers',
      'dimFeedforward',
      'maxLength',
    ] as const;
    for (const key of positive) {
      const v = this[key];
      if (!Number.isInteger(v) || v <= 0)
        throw new RangeError(`TransformerConfig: ${key} must be a positive integer (got ${String(v)})`);
    }
    if (this.dModel % this.nhead !== 0)
      throw new RangeError(
        `TransformerConfig: dModel (${this.dModel}) must be divisible by nhead (${this.nhead})`,
      );
    // Sinusoidal positions pair sin and cos per frequency.
    if (this.dModel % 2 !== 0)
      throw new RangeError(`TransformerConfig: dModel must be even (got ${this.dModel})`);
    if (!(this.dropout >= 0 && this.dropout < 1))
      throw new RangeError(`TransformerConfig: dropout must be in [0, 1) (got ${this.dropout})`);
    const vocab = Math.min(this.srcVocabSize, this.tgtVocabSize);
    for (const key of ['padTokenId', 'bosTokenId', 'eosTokenId'] as const) {
      const v = this[key];
      if (!Number.isInteger(v) || v < 0 || v >= vocab)
        throw new RangeError(
          `TransformerConfig: ${key} (${String(v)}) must be an id in both vocabularies (below ${vocab})`,
        );
    }
    if (new Set([this.padTokenId, this.bosTokenId, this.eosTokenId]).size !== 3)
      throw new RangeError(
        `TransformerConfig: padTokenId, bosTokenId and eosTokenId must differ (got ${this.padTokenId}, ${this.bosTokenId}, ${this.eosTokenId})`,
      );
  }

  get headDim(): number {
    return this.dModel / this.nhead;
  }

  toJSON(): TransformerConfigFields {
    const out = {} as Record<keyof TransformerConfigFields, number>;
    for (const key of FIELDS) out[key] = this[key];
    return out;
  }
}
