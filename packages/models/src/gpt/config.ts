// GPTConfig: Hugging Face's GPT2Config fields under their own (snake_case) names, so config.json
// reads and writes unchanged, plus camelCase accessors for TypeScript code.

/** The config.json fields of a GPT-2 checkpoint that the model reads. */
export interface GPTConfigFields {
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** Hidden size of the MLP; null means 4 * n_embd. */
  n_inner: number | null;
  layer_norm_epsilon: number;
  /** 'gelu_new' (GPT-2's tanh approximation) or 'gelu' (exact erf form); also 'relu', 'silu'. */
  activation_function: string;
  embd_pdrop: number;
  attn_pdrop: number;
  resid_pdrop: number;
  initializer_range: number;
  bos_token_id: number | null;
  eos_token_id: number | null;
}

/** GPT2Config's defaults (the 124M "gpt2" model). */
const DEFAULTS: GPTConfigFields = {
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
  n_inner: null,
  layer_norm_epsilon: 1e-5,
  activation_function: 'gelu_new',
  embd_pdrop: 0.1,
  attn_pdrop: 0.1,
  resid_pdrop: 0.1,
  initializer_range: 0.02,
  bos_token_id: 50256,
  eos_token_id: 50256,
};

const ACTIVATIONS = new Set(['gelu_new', 'gelu_pytorch_tanh', 'gelu', 'relu', 'silu', 'swish']);

export class GPTConfig implements GPTConfigFields {
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  n_inner: number | null;
  layer_norm_epsilon: number;
  activation_function: string;
  embd_pdrop: number;
  attn_pdrop: number;
  resid_pdrop: number;
  initializer_range: number;
  bos_token_id: number | null;
  eos_token_id: number | null;
  /** Fields of config.json that the model does not use, kept so that save() writes them back. */
  readonly extra: Record<string, unknown>;

  constructor(fields: Partial<GPTConfigFields> & Record<string, unknown> = {}) {
    const extra: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) if (!(key in DEFAULTS)) extra[key] = value;
    const f = { ...DEFAULTS, ...fields } as GPTConfigFields;
    this.vocab_size = f.vocab_size;
    this.n_positions = f.n_positions;
    this.n_embd = f.n_embd;
    this.n_layer = f.n_layer;
    this.n_head = f.n_head;
    this.n_inner = f.n_inner;
    this.layer_norm_epsilon = f.layer_norm_epsilon;
    this.activation_function = f.activation_function;
    this.embd_pdrop = f.embd_pdrop;
    this.attn_pdrop = f.attn_pdrop;
    this.resid_pdrop = f.resid_pdrop;
    this.initializer_range = f.initializer_range;
    this.bos_token_id = f.bos_token_id;
    this.eos_token_id = f.eos_token_id;
    this.extra = extra;
    this.validate();
  }

  private validate(): void {
    for (const key of ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'] as const) {
      const v = this[key];
      if (!Number.isInteger(v) || v <= 0)
        throw new RangeError(`GPTConfig: ${key} must be a positive integer (got ${String(v)})`);
    }
    if (this.n_embd % this.n_head !== 0)
      throw new RangeError(`GPTConfig: n_embd (${this.n_embd}) must be divisible by n_head (${this.n_head})`);
    if (!ACTIVATIONS.has(this.activation_function))
      throw new RangeError(
        `GPTConfig: activation_function "${this.activation_function}" is not supported (one of ${[...ACTIVATIONS].join(', ')})`,
      );
  }

  get vocabSize(): number {
    return this.vocab_size;
  }
  get maxPositions(): number {
    return this.n_positions;
  }
  get hiddenSize(): number {
    return this.n_embd;
  }
  get numLayers(): number {
    return this.n_layer;
  }
  get numHeads(): number {
    return this.n_head;
  }
  get innerSize(): number {
    return this.n_inner ?? 4 * this.n_embd;
  }
  get headDim(): number {
    return this.n_embd / this.n_head;
  }

  /** The config.json object (Hugging Face's field names; unknown fields read earlier kept). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      ...this.extra,
    };
    for (const key of Object.keys(DEFAULTS) as (keyof GPTConfigFields)[]) out[key] = this[key];
    return out;
  }
}
