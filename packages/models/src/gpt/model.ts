// GPT: the GPT-2 architecture (Hugging Face's GPT2LMHeadModel) on @kiln/nn. Learned token and
// position embeddings, pre-LayerNorm blocks (x + attn(ln_1(x)), then x + mlp(ln_2(x))), a final
// ln_f and an lm head tied to wte. Parameter names are Hugging Face's without the "transformer."
// prefix (wte.weight, h.0.attn.c_attn.weight, ...), and projections are HF's Conv1D, whose weight
// is stored [in, out], so checkpoints load without any transposition.
import * as k from '@kiln/core';
import { F, init, nn } from '@kiln/nn';
import type { Tokenizer } from '@kiln/tokenizers';
import { type GenerateOptions, generate } from '../generation/generate.js';
import { GPTConfig, type GPTConfigFields } from './config.js';
import { type FromPretrainedOptions, readPretrained, writePretrained } from './pretrained.js';

/** One layer's cached keys and values, each [B, n_head, S, head_dim]. */
export interface LayerCache {
  key: k.Tensor;
  value: k.Tensor;
}

export interface GPTForwardOptions {
  /** [B, S] with 1 (or true) for real tokens and 0 for padding; S = past length + T. */
  attentionMask?: k.Tensor | null;
  /** [B, T] positions; default past length + 0..T-1 (generate derives them from attentionMask). */
  positionIds?: k.Tensor | null;
  /** [B, T] targets; the loss is the mean cross entropy of logits[:, :-1] against labels[:, 1:]. */
  labels?: k.Tensor | null;
  /** The cache of earlier steps: the new tokens attend to it as if it were in front of them. */
  pastKeyValues?: readonly LayerCache[] | null;
  /** Return the cache extended with this step's keys and values. */
  useCache?: boolean;
}

export interface GPTOutput {
  /** [B, T, vocab_size] */
  logits: k.Tensor;
  loss?: k.Tensor;
  pastKeyValues?: LayerCache[];
}

/** Hugging Face's Conv1D: a linear layer with its weight stored [in, out]; y = x W + b. */
export class Conv1D extends nn.Module {
  weight: k.Tensor;
  bias: k.Tensor;

  /** The weight is drawn from N(0, std) (HF's default 0.02); std null leaves it uninitialised. */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    std: number | null = 0.02,
  ) {
    super();
    this.weight = nn.Parameter(k.empty([inFeatures, outFeatures]));
    this.bias = nn.Parameter(k.zeros([outFeatures]));
    if (std !== null) init.normal_(this.weight, 0, std);
  }

  /** x W + b, then `activation`: core's linear op on the transposed view of the [in, out] weight. */
  override forward(x: k.Tensor, activation: k.LinearActivation = 'none'): k.Tensor {
    return k.linear(x, this.weight.T, this.bias, activation);
  }

  override extraRepr(): string {
    return `nf=${this.outFeatures}, nx=${this.inFeatures}`;
  }
}

/**
 * The MLP's activation (HF's ACT2FN name) as a linear-layer epilogue where core has one, which a
 * backend may fuse into the c_fc matmul; otherwise applied after it.
 */
function activation(name: string): {
  epilogue: k.LinearActivation;
  after: ((x: k.Tensor) => k.Tensor) | null;
} {
  switch (name) {
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return { epilogue: 'geluTanh', after: null };
    case 'gelu':
      return { epilogue: 'gelu', after: null };
    case 'relu':
      return { epilogue: 'relu', after: null };
    default:
      return { epilogue: 'none', after: (x) => x.silu() };
  }
}

/**
 * HF's _init_weights for a block's projections: N(0, initializer_range), and the residual output
 * projections (c_proj) scaled by 1 / sqrt(2 n_layer), as GPT-2's paper prescribes. Null: no init.
 */
function initStds(config: GPTConfig, initialise: boolean): [number | null, number | null] {
  if (!initialise) return [null, null];
  const std = config.initializer_range;
  return [std, std / Math.sqrt(2 * config.n_layer)];
}

export class GPTAttention extends nn.Module {
  c_attn: Conv1D;
  c_proj: Conv1D;
  attn_dropout: nn.Dropout;
  resid_dropout: nn.Dropout;
  private readonly numHeads: number;

  constructor(config: GPTConfig, initialise = true) {
    super();
    this.numHeads = config.n_head;
    const [std, projStd] = initStds(config, initialise);
    this.c_attn = new Conv1D(config.n_embd, 3 * config.n_embd, std);
    this.c_proj = new Conv1D(config.n_embd, config.n_embd, projStd);
    this.attn_dropout = new nn.Dropout(config.attn_pdrop);
    this.resid_dropout = new nn.Dropout(config.resid_pdrop);
  }

  /** [B, T, E] -> [B, H, T, E / H] */
  private splitHeads(x: k.Tensor): k.Tensor {
    const [b, t, e] = x.shape;
    return x.reshape(b, t, this.numHeads, e / this.numHeads).permute(0, 2, 1, 3);
  }

  /**
   * `allowed` is a boolean [B or 1, 1, T, S] mask of the keys each query may attend to (causal and
   * padding together). Returns the output and this layer's keys and values including the past.
   */
  override forward(x: k.Tensor, allowed: k.Tensor, past: LayerCache | null): [k.Tensor, LayerCache] {
    const [b, t, e] = x.shape;
    const [q0, k0, v0] = this.c_attn.forward(x).split(e, 2);
    const q = this.splitHeads(q0);
    let key = this.splitHeads(k0);
    let value = this.splitHeads(v0);
    if (past) {
      key = k.cat([past.key, key], 2);
      value = k.cat([past.value, value], 2);
    }
    const scale = 1 / Math.sqrt(e / this.numHeads);
    let attended: k.Tensor;
    if (this.training && this.attn_dropout.p > 0) {
      // Dropout on the attention weights needs them materialised.
      const scores = q.matmul(key.mT).mul(scale);
      const masked = k.where(allowed, scores, k.finfo(scores.dtype).min);
      attended = this.attn_dropout.forward(masked.softmax(-1)).matmul(value);
    } else {
      // Core's attention op (one fused kernel on backends that have it), same masking convention.
      attended = k.scaledDotProductAttention(q, key, value, { mask: allowed, scale });
    }
    const out = attended.permute(0, 2, 1, 3).reshape(b, t, e);
    return [this.resid_dropout.forward(this.c_proj.forward(out)), { key, value }];
  }
}

export class GPTMLP extends nn.Module {
  c_fc: Conv1D;
  c_proj: Conv1D;
  dropout: nn.Dropout;
  private readonly act: ReturnType<typeof activation>;

  constructor(config: GPTConfig, initialise = true) {
    super();
    const [std, projStd] = initStds(config, initialise);
    this.c_fc = new Conv1D(config.n_embd, config.innerSize, std);
    this.c_proj = new Conv1D(config.innerSize, config.n_embd, projStd);
    this.dropout = new nn.Dropout(config.resid_pdrop);
    this.act = activation(config.activation_function);
  }

  override forward(x: k.Tensor): k.Tensor {
    let h = this.c_fc.forward(x, this.act.epilogue);
    if (this.act.after) h = this.act.after(h);
    return this.dropout.forward(this.c_proj.forward(h));
  }
}

export class GPTBlock extends nn.Module {
  ln_1: nn.LayerNorm;
  attn: GPTAttention;
  ln_2: nn.LayerNorm;
  mlp: GPTMLP;

  constructor(config: GPTConfig, initialise = true) {
    super();
    this.ln_1 = new nn.LayerNorm(config.n_embd, { eps: config.layer_norm_epsilon });
    this.attn = new GPTAttention(config, initialise);
    this.ln_2 = new nn.LayerNorm(config.n_embd, { eps: config.layer_norm_epsilon });
    this.mlp = new GPTMLP(config, initialise);
  }

  override forward(x: k.Tensor, allowed: k.Tensor, past: LayerCache | null): [k.Tensor, LayerCache] {
    const [a, present] = this.attn.forward(this.ln_1.forward(x), allowed, past);
    const h = x.add(a);
    return [h.add(this.mlp.forward(this.ln_2.forward(h))), present];
  }
}

function shapeText(t: k.Tensor): string {
  return `[${t.shape.join(', ')}]`;
}

export class GPT extends nn.Module {
  readonly config: GPTConfig;
  wte: nn.Embedding;
  wpe: nn.Embedding;
  drop: nn.Dropout;
  h: nn.ModuleList<GPTBlock>;
  ln_f: nn.LayerNorm;
  /** The tokenizer found next to the weights by fromPretrained (saved with the model). */
  tokenizer: Tokenizer | null = null;

  /**
   * `init: false` skips Hugging Face's weight initialisation (for weights about to be loaded;
   * nn's layers still run their own default init).
   */
  constructor(
    config: GPTConfig | (Partial<GPTConfigFields> & Record<string, unknown>) = {},
    options: { init?: boolean } = {},
  ) {
    super();
    const c = config instanceof GPTConfig ? config : new GPTConfig(config);
    this.config = c;
    this.wte = new nn.Embedding(c.vocab_size, c.n_embd);
    this.wpe = new nn.Embedding(c.n_positions, c.n_embd);
    this.drop = new nn.Dropout(c.embd_pdrop);
    const initialise = options.init !== false;
    this.h = new nn.ModuleList(Array.from({ length: c.n_layer }, () => new GPTBlock(c, initialise)));
    this.ln_f = new nn.LayerNorm(c.n_embd, { eps: c.layer_norm_epsilon });
    if (initialise) {
      init.normal_(this.wte.weight, 0, c.initializer_range);
      init.normal_(this.wpe.weight, 0, c.initializer_range);
    }
  }

  /**
   * Loads a Hugging Face GPT-2 folder (config.json, model.safetensors with or without the
   * "transformer." prefix, tokenizer.json or vocab.json + merges.txt when present), in eval mode.
   */
  static async fromPretrained(dir: string, options: FromPretrainedOptions = {}): Promise<GPT> {
    const device = options.device ?? k.getDefaultDevice();
    const { config, state, lmHead, tokenizer } = await readPretrained(dir, device);
    const model = new GPT(config, { init: false });
    try {
      if (model.device !== device) model.to(device);
      model.loadStateDict(state);
      if (lmHead) {
        // Read asynchronously: itemSync is unavailable on WebGPU.
        const same = k.noGrad(() =>
          k.tidy(() => lmHead.to(model.wte.weight.dtype).eq(model.wte.weight).all()),
        );
        const tied = (await same.item()) !== 0;
        same.dispose();
        if (!tied)
          throw new Error(
            'GPT.fromPretrained: lm_head.weight differs from wte.weight; GPT ties them (untied heads are not supported)',
          );
      }
    } catch (e) {
      model.dispose();
      throw e;
    } finally {
      for (const t of Object.values(state)) t.dispose();
      lmHead?.dispose();
    }
    model.tokenizer = tokenizer;
    return model.eval();
  }

  /** Writes the folder fromPretrained reads, in Hugging Face's current layout. */
  async save(dir: string): Promise<void> {
    await writePretrained(dir, this.config, this.stateDict(), this.tokenizer);
  }

  /** Continues each row of inputIds; returns [B, T + new] as Hugging Face's generate does. */
  generate(inputIds: k.Tensor, options: GenerateOptions = {}): Promise<k.Tensor> {
    return generate(this, inputIds, options);
  }

  get device(): k.Device {
    return this.wte.weight.device;
  }

  /**
   * inputIds: integer [B, T]. Returns logits [B, T, vocab_size], the loss when labels are given,
   * and the extended key/value cache when useCache is set.
   */
  override forward(inputIds: k.Tensor, options: GPTForwardOptions = {}): GPTOutput {
    if (inputIds.ndim !== 2 || k.isFloating(inputIds.dtype) || inputIds.dtype === 'bool')
      throw new Error(
        `GPT.forward: expected integer inputIds [batch, seq], got ${inputIds.dtype} ${shapeText(inputIds)}`,
      );
    const [b, t] = inputIds.shape;
    const past = options.pastKeyValues ?? null;
    if (past && past.length !== this.config.n_layer)
      throw new Error(
        `GPT.forward: pastKeyValues has ${past.length} layers, the model ${this.config.n_layer}`,
      );
    const pastLength = past ? past[0].key.shape[2] : 0;
    const total = pastLength + t;
    if (total > this.config.n_positions)
      throw new Error(
        `GPT.forward: sequence length ${total} (past ${pastLength} + ${t} new) exceeds n_positions ${this.config.n_positions}`,
      );
    const device = inputIds.device;
    const positionIds =
      options.positionIds ??
      k.arange(pastLength, total, 1, { device, dtype: 'int32' }).unsqueeze(0).expand(b, t);

    // Query i sits at absolute index pastLength + i and may see keys j <= pastLength + i.
    const keyIndex = k.arange(total, undefined, 1, { device, dtype: 'int32' });
    const queryIndex = k.arange(pastLength, total, 1, { device, dtype: 'int32' });
    let allowed = keyIndex.unsqueeze(0).le(queryIndex.unsqueeze(1)).reshape(1, 1, t, total);
    const mask = options.attentionMask ?? null;
    if (mask) {
      if (mask.ndim !== 2 || mask.shape[0] !== b || mask.shape[1] !== total)
        throw new Error(
          `GPT.forward: attentionMask must be [${b}, ${total}] (batch, past + new tokens), got ${shapeText(mask)}`,
        );
      allowed = allowed.logicalAnd(mask.ne(0).reshape(b, 1, 1, total));
    }

    let x = this.drop.forward(this.wte.forward(inputIds).add(this.wpe.forward(positionIds)));
    const presents: LayerCache[] = [];
    for (let i = 0; i < this.config.n_layer; i++) {
      const [y, present] = this.h[i].forward(x, allowed, past ? past[i] : null);
      x = y;
      presents.push(present);
    }
    x = this.ln_f.forward(x);
    const logits = x.matmul(this.wte.weight.T);

    const out: GPTOutput = { logits };
    if (options.labels) out.loss = shiftedCrossEntropy(logits, options.labels);
    if (options.useCache) out.pastKeyValues = presents;
    return out;
  }
}

/** HF's causal LM loss: predict token t + 1 from position t; labels of -100 are ignored. */
export function shiftedCrossEntropy(logits: k.Tensor, labels: k.Tensor): k.Tensor {
  const [b, t, v] = logits.shape;
  if (labels.ndim !== 2 || labels.shape[0] !== b || labels.shape[1] !== t)
    throw new Error(`GPT.forward: labels must be [${b}, ${t}] like inputIds, got ${shapeText(labels)}`);
  // The labels move left by one and the last position gets -100: the mean over all B*T rows of
  // the logits (a view) is HF's mean over logits[:, :-1], without copying [B, T-1, V] logits
  // forward and scattering their gradient back into zeros in backward.
  const pad = k.full([b, 1], -100, { dtype: labels.dtype, device: labels.device });
  const shiftLabels = k.cat([labels.slice(1, 1, t), pad], 1).reshape(b * t);
  pad.dispose();
  return F.crossEntropy(logits.reshape(b * t, v), shiftLabels, { ignoreIndex: -100 });
}
