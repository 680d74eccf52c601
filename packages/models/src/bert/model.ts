// BERT's encoder (Hugging Face's BertModel) on @kiln/nn: word + learned position + token type
// embeddings, post-LayerNorm layers (LayerNorm(x + attention(x)), then LayerNorm(a + ffn(a))) and a
// tanh pooler over the first ([CLS]) token. Module names are Hugging Face's (embeddings.LayerNorm,
// encoder.layer.0.attention.self.query, ...) and projections are nn.Linear ([out, in] weights, as
// torch), so stateDict() is the checkpoint and nothing is renamed or transposed.
import * as k from '@kiln/core';
import { F, init, nn } from '@kiln/nn';
import type { BertConfig, BertConfigInit } from './config.js';
import { BertPreTrainedModel } from './pretrained.js';

export function shapeText(t: k.Tensor): string {
  return `[${t.shape.join(', ')}]`;
}

/** HF's ACT2FN for the names BERT configs use; 'gelu' is the exact erf form (BERT's). */
export function bertActivation(name: string): (x: k.Tensor) => k.Tensor {
  switch (name) {
    case 'gelu':
      return (x) => F.gelu(x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return (x) => F.gelu(x, { approximate: 'tanh' });
    case 'relu':
      return (x) => x.relu();
    default:
      return (x) => x.silu();
  }
}

export class BertEmbeddings extends nn.Module {
  word_embeddings: nn.Embedding;
  position_embeddings: nn.Embedding;
  token_type_embeddings: nn.Embedding;
  LayerNorm: nn.LayerNorm;
  dropout: nn.Dropout;

  constructor(config: BertConfig) {
    super();
    const h = config.hidden_size;
    // padding_idx as HF: the [PAD] row gets no gradient from the input side.
    this.word_embeddings = new nn.Embedding(config.vocab_size, h, { paddingIdx: config.pad_token_id });
    this.position_embeddings = new nn.Embedding(config.max_position_embeddings, h);
    this.token_type_embeddings = new nn.Embedding(config.type_vocab_size, h);
    this.LayerNorm = new nn.LayerNorm(h, { eps: config.layer_norm_eps });
    this.dropout = new nn.Dropout(config.hidden_dropout_prob);
  }

  /** Integer [B, T] ids, token types and positions -> [B, T, hidden]. */
  override forward(inputIds: k.Tensor, tokenTypeIds: k.Tensor, positionIds: k.Tensor): k.Tensor {
    // HF's order: (words + token types) + positions, then LayerNorm and dropout.
    const x = this.word_embeddings
      .forward(inputIds)
      .add(this.token_type_embeddings.forward(tokenTypeIds))
      .add(this.position_embeddings.forward(positionIds));
    return this.dropout.forward(this.LayerNorm.forward(x));
  }
}

export class BertSelfAttention extends nn.Module {
  query: nn.Linear;
  key: nn.Linear;
  value: nn.Linear;
  private readonly numHeads: number;
  private readonly dropoutP: number;

  constructor(config: BertConfig) {
    super();
    const h = config.hidden_size;
    this.numHeads = config.num_attention_heads;
    this.dropoutP = config.attention_probs_dropout_prob;
    this.query = new nn.Linear(h, h);
    this.key = new nn.Linear(h, h);
    this.value = new nn.Linear(h, h);
  }

  /** [B, T, E] -> [B, H, T, E / H] */
  private splitHeads(x: k.Tensor): k.Tensor {
    const [b, t, e] = x.shape;
    return x.reshape(b, t, this.numHeads, e / this.numHeads).permute(0, 2, 1, 3);
  }

  /** `extendedMask`: [B, 1, 1, T], 0 for keys to attend to and finfo.min for padding (added). */
  override forward(x: k.Tensor, extendedMask: k.Tensor): k.Tensor {
    const [b, t, e] = x.shape;
    const context = F.scaledDotProductAttention(
      this.splitHeads(this.query.forward(x)),
      this.splitHeads(this.key.forward(x)),
      this.splitHeads(this.value.forward(x)),
      { attnMask: extendedMask, dropoutP: this.dropoutP, training: this.training },
    );
    return context.permute(0, 2, 1, 3).reshape(b, t, e);
  }
}

/** dense, dropout, then LayerNorm with the residual: BertSelfOutput and BertOutput alike. */
export class BertResidualOutput extends nn.Module {
  dense: nn.Linear;
  LayerNorm: nn.LayerNorm;
  dropout: nn.Dropout;

  constructor(config: BertConfig, inFeatures: number) {
    super();
    this.dense = new nn.Linear(inFeatures, config.hidden_size);
    this.LayerNorm = new nn.LayerNorm(config.hidden_size, { eps: config.layer_norm_eps });
    this.dropout = new nn.Dropout(config.hidden_dropout_prob);
  }

  override forward(h: k.Tensor, residual: k.Tensor): k.Tensor {
    return this.LayerNorm.forward(this.dropout.forward(this.dense.forward(h)).add(residual));
  }
}

export class BertAttention extends nn.Module {
  self: BertSelfAttention;
  output: BertResidualOutput;

  constructor(config: BertConfig) {
    super();
    this.self = new BertSelfAttention(config);
    this.output = new BertResidualOutput(config, config.hidden_size);
  }

  override forward(x: k.Tensor, extendedMask: k.Tensor): k.Tensor {
    return this.output.forward(this.self.forward(x, extendedMask), x);
  }
}

export class BertIntermediate extends nn.Module {
  dense: nn.Linear;
  private readonly act: (x: k.Tensor) => k.Tensor;

  constructor(config: BertConfig) {
    super();
    this.dense = new nn.Linear(config.hidden_size, config.intermediate_size);
    this.act = bertActivation(config.hidden_act);
  }

  override forward(x: k.Tensor): k.Tensor {
    return this.act(this.dense.forward(x));
  }
}

export class BertLayer extends nn.Module {
  attention: BertAttention;
  intermediate: BertIntermediate;
  output: BertResidualOutput;

  constructor(config: BertConfig) {
    super();
    this.attention = new BertAttention(config);
    this.intermediate = new BertIntermediate(config);
    this.output = new BertResidualOutput(config, config.intermediate_size);
  }

  override forward(x: k.Tensor, extendedMask: k.Tensor): k.Tensor {
    const a = this.attention.forward(x, extendedMask);
    return this.output.forward(this.intermediate.forward(a), a);
  }
}

export class BertEncoder extends nn.Module {
  layer: nn.ModuleList<BertLayer>;

  constructor(config: BertConfig) {
    super();
    this.layer = new nn.ModuleList(
      Array.from({ length: config.num_hidden_layers }, () => new BertLayer(config)),
    );
  }

  override forward(x: k.Tensor, extendedMask: k.Tensor): k.Tensor {
    let h = x;
    for (const layer of this.layer) h = layer.forward(h, extendedMask);
    return h;
  }
}

/** tanh(dense(h[:, 0])): the [CLS] summary that the NSP head and classifiers read. */
export class BertPooler extends nn.Module {
  dense: nn.Linear;

  constructor(config: BertConfig) {
    super();
    this.dense = new nn.Linear(config.hidden_size, config.hidden_size);
  }

  override forward(h: k.Tensor): k.Tensor {
    return this.dense.forward(h.select(1, 0)).tanh();
  }
}

/** dense, activation, LayerNorm: the masked-LM head's transform before the tied decoder. */
export class BertPredictionHeadTransform extends nn.Module {
  dense: nn.Linear;
  LayerNorm: nn.LayerNorm;
  private readonly act: (x: k.Tensor) => k.Tensor;

  constructor(config: BertConfig) {
    super();
    this.dense = new nn.Linear(config.hidden_size, config.hidden_size);
    this.LayerNorm = new nn.LayerNorm(config.hidden_size, { eps: config.layer_norm_eps });
    this.act = bertActivation(config.hidden_act);
  }

  override forward(x: k.Tensor): k.Tensor {
    return this.LayerNorm.forward(this.act(this.dense.forward(x)));
  }
}

/**
 * The masked-LM head: transform, then the decoder, whose weight IS the word embeddings (HF ties
 * cls.predictions.decoder.weight to them), plus its own bias. The decoder holds no parameter here:
 * the word embeddings are passed in, so the tie cannot come undone and their gradient sums both uses.
 */
export class BertLMPredictionHead extends nn.Module {
  transform: BertPredictionHeadTransform;
  bias: k.Tensor;

  constructor(config: BertConfig) {
    super();
    this.transform = new BertPredictionHeadTransform(config);
    this.bias = nn.Parameter(k.zeros([config.vocab_size]));
  }

  override forward(h: k.Tensor, wordEmbeddings: k.Tensor): k.Tensor {
    return this.transform.forward(h).matmul(wordEmbeddings.T).add(this.bias);
  }
}

export interface BertInputs {
  /** [B, T], 1 (or true) for tokens to attend to and 0 for padding; default all ones. */
  attentionMask?: k.Tensor | null;
  /** [B, T] segment ids (0 for sentence A, 1 for B); default zeros. */
  tokenTypeIds?: k.Tensor | null;
  /** [B, T] positions; default 0..T-1. */
  positionIds?: k.Tensor | null;
}

export interface BertModelOutput {
  /** [B, T, hidden] */
  lastHiddenState: k.Tensor;
  /** [B, hidden], tanh(dense(lastHiddenState[:, 0])); null without a pooling layer. */
  poolerOutput: k.Tensor | null;
}

/**
 * HF's _init_weights for every module under `root`: Linear weights and embeddings N(0,
 * initializer_range), biases 0, the padding row 0, LayerNorm 1 and 0, the LM head's bias 0.
 */
export function initBertWeights(root: nn.Module, config: BertConfig): void {
  const std = config.initializer_range;
  k.noGrad(() =>
    root.apply((m) => {
      if (m instanceof nn.Linear) {
        init.normal_(m.weight, 0, std);
        if (m.bias) init.zeros_(m.bias);
      } else if (m instanceof nn.Embedding) {
        init.normal_(m.weight, 0, std);
        if (m.paddingIdx !== null) {
          const row = m.weight.select(0, m.paddingIdx);
          row.fill_(0);
          row.dispose();
        }
      } else if (m instanceof nn.LayerNorm) {
        if (m.weight) init.ones_(m.weight);
        if (m.bias) init.zeros_(m.bias);
      } else if (m instanceof BertLMPredictionHead) {
        init.zeros_(m.bias);
      }
    }),
  );
}

/** Checks inputIds and the optional [B, T] inputs; `who` names the calling forward in errors. */
export function checkBertInputs(
  who: string,
  config: BertConfig,
  inputIds: k.Tensor,
  inputs: BertInputs,
): void {
  if (inputIds.ndim !== 2 || k.isFloating(inputIds.dtype) || inputIds.dtype === 'bool')
    throw new Error(
      `${who}: expected integer inputIds [batch, seq], got ${inputIds.dtype} ${shapeText(inputIds)}`,
    );
  const [b, t] = inputIds.shape;
  if (t > config.max_position_embeddings)
    throw new Error(
      `${who}: sequence length ${t} exceeds max_position_embeddings ${config.max_position_embeddings}`,
    );
  for (const name of ['attentionMask', 'tokenTypeIds', 'positionIds'] as const) {
    const x = inputs[name];
    if (x && (x.ndim !== 2 || x.shape[0] !== b || x.shape[1] !== t))
      throw new Error(`${who}: ${name} must be [${b}, ${t}] like inputIds, got ${shapeText(x)}`);
  }
}

/**
 * The encoder without heads (HF's BertModel): embeddings, encoder and, by default, the pooler.
 * Its parameter names are bare (embeddings.word_embeddings.weight, ...), as BertModel files have
 * them; inside the heads models it is the `bert` module.
 */
export class BertModel extends BertPreTrainedModel {
  readonly architecture = 'BertModel';
  protected override readonly strippedPrefix = 'bert.';
  embeddings: BertEmbeddings;
  encoder: BertEncoder;
  pooler: BertPooler | null;

  /** `init: false` skips HF's initialisation (for weights about to be loaded). */
  constructor(
    config: BertConfig | BertConfigInit = {},
    options: { init?: boolean; addPoolingLayer?: boolean } = {},
  ) {
    super(config);
    this.embeddings = new BertEmbeddings(this.config);
    this.encoder = new BertEncoder(this.config);
    this.pooler = options.addPoolingLayer === false ? null : new BertPooler(this.config);
    if (options.init !== false) this.initWeights();
  }

  initWeights(root: nn.Module = this): void {
    initBertWeights(root, this.config);
  }

  override forward(inputIds: k.Tensor, inputs: BertInputs = {}): BertModelOutput {
    checkBertInputs('BertModel.forward', this.config, inputIds, inputs);
    const [b, t] = inputIds.shape;
    const device = inputIds.device;
    const dtype = this.embeddings.word_embeddings.weight.dtype;
    const tokenTypeIds = inputs.tokenTypeIds ?? k.zeros([b, t], { dtype: 'int32', device });
    const positionIds =
      inputs.positionIds ?? k.arange(t, undefined, 1, { dtype: 'int32', device }).unsqueeze(0).expand(b, t);
    // HF's get_extended_attention_mask: (1 - mask[:, None, None, :]) * finfo(dtype).min, added to
    // every head's scores, so padding keys get zero weight and padding queries still attend.
    const mask = inputs.attentionMask ?? null;
    const extended = mask
      ? mask.to(dtype).neg().add(1).mul(k.finfo(dtype).min).reshape(b, 1, 1, t)
      : k.zeros([1, 1, 1, t], { dtype, device });
    const h = this.encoder.forward(this.embeddings.forward(inputIds, tokenTypeIds, positionIds), extended);
    return { lastHiddenState: h, poolerOutput: this.pooler ? this.pooler.forward(h) : null };
  }
}
