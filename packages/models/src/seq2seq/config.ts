// Seq2SeqConfig: the sizes and special token ids of a GRU encoder-decoder with Bahdanau attention.
// There is no Hugging Face layout for this model, so config.json holds these camelCase fields as is.

export interface Seq2SeqConfigFields {
  srcVocabSize: number;
  tgtVocabSize: number;
  /** Width of the source and target word embeddings. */
  embedDim: number;
  /** Width of both GRUs' states (and of the attention's hidden layer). */
  hiddenSize: number;
  /** Padding: ignored by the encoder's final state, by attention and by the loss. */
  padId: number;
  /** The first decoder input of a translation. */
  bosId: number;
  /** Ends a translation. */
  eosId: number;
  /** Dropout on both embeddings while training (the PyTorch tutorial's 0.1). */
  dropout: number;
}

const DEFAULTS: Pick<Seq2SeqConfigFields, 'embedDim' | 'hiddenSize' | 'dropout'> = {
  embedDim: 256,
  hiddenSize: 256,
  dropout: 0.1,
};

const REQUIRED = ['srcVocabSize', 'tgtVocabSize', 'padId', 'bosId', 'eosId'] as const;

export type Seq2SeqConfigInit = Pick<Seq2SeqConfigFields, (typeof REQUIRED)[number]> &
  Partial<Seq2SeqConfigFields>;

export class Seq2SeqConfig implements Seq2SeqConfigFields {
  srcVocabSize: number;
  tgtVocabSize: number;
  embedDim: number;
  hiddenSize: number;
  padId: number;
  bosId: number;
  eosId: number;
  dropout: number;

  constructor(fields: Seq2SeqConfigInit) {
    for (const key of REQUIRED)
      if (fields[key] === undefined) throw new Error(`Seq2SeqConfig: ${key} is required`);
    const f = { ...DEFAULTS, ...fields };
    this.srcVocabSize = f.srcVocabSize;
    this.tgtVocabSize = f.tgtVocabSize;
    this.embedDim = f.embedDim;
    this.hiddenSize = f.hiddenSize;
    this.padId = f.padId;
    this.bosId = f.bosId;
    this.eosId = f.eosId;
    this.dropout = f.dropout;
    this.validate();
  }

  private validate(): void {
    for (const key of ['srcVocabSize', 'tgtVocabSize', 'embedDim', 'hiddenSize'] as const) {
      const v = this[key];
      if (!Number.isInteger(v) || v <= 0)
        throw new RangeError(`Seq2SeqConfig: ${key} must be a positive integer (got ${String(v)})`);
    }
    const vocab = Math.min(this.srcVocabSize, this.tgtVocabSize);
    for (const key of ['padId', 'bosId', 'eosId'] as const) {
      const v = this[key];
      if (!Number.isInteger(v) || v < 0 || v >= vocab)
        throw new RangeError(
          `Seq2SeqConfig: ${key} must be a token id in both vocabularies, 0..${vocab - 1} (got ${String(v)})`,
        );
    }
    if (!(this.dropout >= 0 && this.dropout < 1))
      throw new RangeError(`Seq2SeqConfig: dropout must be in [0, 1) (got ${this.dropout})`);
  }

  toJSON(): Seq2SeqConfigFields {
    return {
      srcVocabSize: this.srcVocabSize,
      tgtVocabSize: this.tgtVocabSize,
      embedDim: this.embedDim,
      hiddenSize: this.hiddenSize,
      padId: this.padId,
      bosId: this.bosId,
      eosId: this.eosId,
      dropout: this.dropout,
    };
  }
}
