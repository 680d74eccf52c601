// BertConfig: Hugging Face's BertConfig fields under their own (snake_case) names, so config.json
// reads and writes unchanged, plus the PretrainedConfig label fields a classifier needs.

/** The config.json fields of a BERT checkpoint that the models read. */
export interface BertConfigFields {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  /** 'gelu' (exact erf form, BERT's), 'gelu_new' / 'gelu_pytorch_tanh' (tanh form), 'relu', 'silu'. */
  hidden_act: string;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  pad_token_id: number;
  /** Only 'absolute' (learned positions) is supported. */
  position_embedding_type: string;
  /** Dropout before the classifier; null means hidden_dropout_prob (HF). */
  classifier_dropout: number | null;
  /** Class names by index (PretrainedConfig); its size is the classifier's num_labels. */
  id2label: Record<string, string>;
  /** 'regression', 'single_label_classification' or 'multi_label_classification'; null: inferred. */
  problem_type: string | null;
}

/** BertConfig's defaults (bert-base-uncased); two labels, as PretrainedConfig's default. */
const DEFAULTS: BertConfigFields = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  position_embedding_type: 'absolute',
  classifier_dropout: null,
  id2label: { '0': 'LABEL_0', '1': 'LABEL_1' },
  problem_type: null,
};

const ACTIVATIONS = new Set(['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu', 'silu', 'swish']);
const PROBLEM_TYPES = new Set(['regression', 'single_label_classification', 'multi_label_classification']);

/** Fields accepted by the constructor: any BertConfig field, `num_labels` (as HF), and unknown extras. */
export type BertConfigInit = Partial<BertConfigFields> & { num_labels?: number } & Record<string, unknown>;

export class BertConfig implements BertConfigFields {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: string;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  pad_token_id: number;
  position_embedding_type: string;
  classifier_dropout: number | null;
  id2label: Record<string, string>;
  problem_type: string | null;
  /** Fields of config.json that the models do not use, kept so that save() writes them back. */
  readonly extra: Record<string, unknown>;

  constructor(fields: BertConfigInit = {}) {
    const extra: Record<string, unknown> = {};
    if (fields.model_type !== undefined && fields.model_type !== 'bert')
      throw new RangeError(`BertConfig: model_type "${String(fields.model_type)}" is not "bert"`);
    // architectures and model_type are written by toJSON; num_labels and label2id follow id2label.
    const derived = new Set(['architectures', 'model_type', 'num_labels', 'label2id']);
    for (const [key, value] of Object.entries(fields))
      if (!(key in DEFAULTS) && !derived.has(key)) extra[key] = value;
    const f = { ...DEFAULTS, ...fields } as BertConfigFields;
    this.vocab_size = f.vocab_size;
    this.hidden_size = f.hidden_size;
    this.num_hidden_layers = f.num_hidden_layers;
    this.num_attention_heads = f.num_attention_heads;
    this.intermediate_size = f.intermediate_size;
    this.hidden_act = f.hidden_act;
    this.hidden_dropout_prob = f.hidden_dropout_prob;
    this.attention_probs_dropout_prob = f.attention_probs_dropout_prob;
    this.max_position_embeddings = f.max_position_embeddings;
    this.type_vocab_size = f.type_vocab_size;
    this.initializer_range = f.initializer_range;
    this.layer_norm_eps = f.layer_norm_eps;
    this.pad_token_id = f.pad_token_id;
    this.position_embedding_type = f.position_embedding_type;
    this.classifier_dropout = f.classifier_dropout;
    this.problem_type = f.problem_type;
    // As PretrainedConfig: an explicit num_labels without id2label names the classes LABEL_i.
    const numLabels = fields.num_labels;
    this.id2label =
      numLabels !== undefined && fields.id2label === undefined
        ? Object.fromEntries(Array.from({ length: numLabels }, (_, i) => [String(i), `LABEL_${i}`]))
        : { ...f.id2label };
    this.extra = extra;
    this.validate(numLabels);
  }

  private validate(numLabels: number | undefined): void {
    const positive = [
      'vocab_size',
      'hidden_size',
      'num_hidden_layers',
      'num_attention_heads',
      'intermediate_size',
      'max_position_embeddings',
      'type_vocab_size',
    ] as const;
    for (const key of positive) {
      const v = this[key];
      if (!Number.isInteger(v) || v <= 0)
        throw new RangeError(`BertConfig: ${key} must be a positive integer (got ${String(v)})`);
    }
    if (this.hidden_size % this.num_attention_heads !== 0)
      throw new RangeError(
        `BertConfig: hidden_size (${this.hidden_size}) must be divisible by num_attention_heads (${this.num_attention_heads})`,
      );
    if (!ACTIVATIONS.has(this.hidden_act))
      throw new RangeError(
        `BertConfig: hidden_act "${this.hidden_act}" is not supported (one of ${[...ACTIVATIONS].join(', ')})`,
      );
    if (this.position_embedding_type !== 'absolute')
      throw new RangeError(
        `BertConfig: position_embedding_type "${this.position_embedding_type}" is not supported (only "absolute")`,
      );
    if (numLabels !== undefined && (!Number.isInteger(numLabels) || numLabels <= 0))
      throw new RangeError(`BertConfig: num_labels must be a positive integer (got ${String(numLabels)})`);
    if (this.numLabels === 0) throw new RangeError('BertConfig: id2label must name at least one class');
    if (this.problem_type !== null && !PROBLEM_TYPES.has(this.problem_type))
      throw new RangeError(
        `BertConfig: problem_type "${this.problem_type}" is not one of ${[...PROBLEM_TYPES].join(', ')}`,
      );
    if (this.pad_token_id < 0 || this.pad_token_id >= this.vocab_size)
      throw new RangeError(
        `BertConfig: pad_token_id ${this.pad_token_id} is outside the vocabulary (vocab_size ${this.vocab_size})`,
      );
  }

  get numLabels(): number {
    return Object.keys(this.id2label).length;
  }
  get headDim(): number {
    return this.hidden_size / this.num_attention_heads;
  }

  /** The config.json object (HF's field names, label2id derived); `architecture` names the class. */
  toJSON(architecture = 'BertForPreTraining'): Record<string, unknown> {
    const out: Record<string, unknown> = { architectures: [architecture], model_type: 'bert', ...this.extra };
    for (const key of Object.keys(DEFAULTS) as (keyof BertConfigFields)[]) out[key] = this[key];
    out.label2id = Object.fromEntries(Object.entries(this.id2label).map(([i, name]) => [name, Number(i)]));
    return out;
  }
}
