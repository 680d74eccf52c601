// Transformer: the encoder-decoder translation model of "Attention Is All You Need", as PyTorch's
// "Language Translation with nn.Transformer" tutorial builds it: token embeddings scaled by
// sqrt(dModel) (paper, 3.4), sinusoidal positions (3.5), nn.Transformer (post-norm, ReLU,
// batch-first) held as `transformer`, and a linear `generator` head. Parameter names are those of
// the PyTorch module tree (src_embedding.weight, transformer.encoder.layers.0.self_attn.in_proj_weight,
// transformer.decoder.layers.1.multihead_attn.out_proj.weight, generator.weight, ...), so a state
// dict moves between the two unchanged. Padding is masked as an attention key everywhere, the
// decoder's self-attention is causal, and the loss ignores padding.
import * as k from '@kiln/core';
import { F, init, nn } from '@kiln/nn';
import { TransformerConfig, type TransformerConfigInit } from './config.js';
import { type TranslateOptions, type Translation, translate } from './translate.js';

export interface TransformerForwardOptions {
  /** [B, T] targets aligned with tgtInputIds (tgtInputIds shifted left, ending in EOS); padding ignored. */
  labels?: k.Tensor | null;
  /** Cross-entropy label smoothing (torch's label_smoothing; default 0). */
  labelSmoothing?: number;
}

export interface TransformerOutput {
  /** [B, T, tgtVocabSize] */
  logits: k.Tensor;
  /** Mean cross entropy over the label tokens that are not padding. */
  loss?: k.Tensor;
}

/** What the encoder hands the decoder: its output and which source positions are padding. */
export interface EncodedSource {
  /** [B, S, dModel] */
  memory: k.Tensor;
  /** [B, S] boolean, true at padding (torch's key_padding_mask convention). */
  srcPaddingMask: k.Tensor;
}

export interface TransformerFromPretrainedOptions {
  device?: k.Device;
}

function shapeText(t: k.Tensor): string {
  return `[${t.shape.join(', ')}]`;
}

/**
 * PE(pos, 2i) = sin(pos / 10000^(2i / d)), PE(pos, 2i + 1) = cos(pos / 10000^(2i / d)), added to the
 * scaled embeddings and followed by dropout, as the PyTorch tutorial's PositionalEncoding. The table
 * is a non-persistent buffer: it moves with the model but is not in the state dict.
 */
export class PositionalEncoding extends nn.Module {
  declare pe: k.Tensor;
  dropout: nn.Dropout;

  constructor(dModel: number, maxLength: number, dropout: number) {
    super();
    const table = new Float32Array(maxLength * dModel);
    for (let pos = 0; pos < maxLength; pos++)
      for (let i = 0; i < dModel; i += 2) {
        const angle = pos * Math.exp((i * -Math.log(10000)) / dModel);
        table[pos * dModel + i] = Math.sin(angle);
        table[pos * dModel + i + 1] = Math.cos(angle);
      }
    this.registerBuffer('pe', k.tensor(table).reshape(maxLength, dModel), false);
    this.dropout = new nn.Dropout(dropout);
  }

  /** x: [B, T, dModel]. */
  override forward(x: k.Tensor): k.Tensor {
    const t = x.shape[1];
    if (t > this.pe.shape[0])
      throw new Error(
        `PositionalEncoding: sequence length ${t} of ${shapeText(x)} exceeds maxLength ${this.pe.shape[0]}`,
      );
    return this.dropout.forward(x.add(this.pe.slice(0, 0, t)));
  }
}

/**
 * nn.MultiheadAttention that can keep its head-averaged attention weights. nn's decoder layer asks
 * its attention for no weights, so the last layer's cross-attention is this class, and translate
 * switches recording on for one pass to read the weights the real forward computed.
 */
export class RecordingMultiheadAttention extends nn.MultiheadAttention {
  /** While an array, every forward appends its weights [B, L, S] to it. */
  recorded: k.Tensor[] | null = null;

  override forward(
    query: k.Tensor,
    key: k.Tensor,
    value: k.Tensor,
    options: nn.MultiheadAttentionCallOptions = {},
  ): [k.Tensor, k.Tensor | null] {
    if (!this.recorded) return super.forward(query, key, value, options);
    const [out, weights] = super.forward(query, key, value, {
      ...options,
      needWeights: true,
      averageAttnWeights: true,
    });
    this.recorded.push(weights!);
    return [out, weights];
  }
}

export class Transformer extends nn.Module {
  readonly config: TransformerConfig;
  src_embedding: nn.Embedding;
  tgt_embedding: nn.Embedding;
  positional_encoding: PositionalEncoding;
  transformer: nn.Transformer;
  generator: nn.Linear;

  constructor(config: TransformerConfig | TransformerConfigInit) {
    super();
    const c = config instanceof TransformerConfig ? config : new TransformerConfig(config);
    this.config = c;
    this.src_embedding = new nn.Embedding(c.srcVocabSize, c.dModel);
    this.tgt_embedding = new nn.Embedding(c.tgtVocabSize, c.dModel);
    this.positional_encoding = new PositionalEncoding(c.dModel, c.maxLength, c.dropout);
    const layer = {
      dimFeedforward: c.dimFeedforward,
      dropout: c.dropout,
      batchFirst: true,
    };
    const decoder = new nn.TransformerDecoder(
      new nn.TransformerDecoderLayer(c.dModel, c.nhead, layer),
      c.numDecoderLayers,
      { norm: new nn.LayerNorm(c.dModel) },
    );
    decoder.layers[c.numDecoderLayers - 1].multihead_attn = new RecordingMultiheadAttention(
      c.dModel,
      c.nhead,
      { dropout: c.dropout, batchFirst: true },
    );
    // nn.Transformer builds the encoder as torch does and Xavier-initialises every matrix of both
    // stacks, the recording attention included.
    this.transformer = new nn.Transformer({
      ...layer,
      dModel: c.dModel,
      nhead: c.nhead,
      numEncoderLayers: c.numEncoderLayers,
      customDecoder: decoder,
    });
    this.generator = new nn.Linear(c.dModel, c.tgtVocabSize);
    // The tutorial's init: Xavier-uniform for the embeddings and the head too (N(0, 1) embeddings
    // times sqrt(dModel) would drown the positional signal).
    for (const p of [this.src_embedding.weight, this.tgt_embedding.weight, this.generator.weight])
      init.xavierUniform_(p);
  }

  /** Reads a folder written by save (config.json + model.safetensors), in eval mode. */
  static async fromPretrained(
    dir: string,
    options: TransformerFromPretrainedOptions = {},
  ): Promise<Transformer> {
    const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    const configPath = path.join(dir, 'config.json');
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(await fs.readFile(configPath, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`Transformer.fromPretrained: cannot read ${configPath}: ${(e as Error).message}`);
    }
    const device = options.device ?? k.getDefaultDevice();
    const model = new Transformer(TransformerConfig.fromJSON(json));
    const weightsPath = path.join(dir, 'model.safetensors');
    let state: Record<string, k.Tensor> = {};
    try {
      if (model.device !== device) model.to(device);
      state = await k.loadSafetensors(weightsPath, { device });
      model.loadStateDict(state);
    } catch (e) {
      model.dispose();
      throw new Error(`Transformer.fromPretrained: ${weightsPath}: ${(e as Error).message}`);
    } finally {
      for (const t of Object.values(state)) t.dispose();
    }
    return model.eval();
  }

  /** Writes config.json and model.safetensors (the state dict under torch's names). */
  async save(dir: string): Promise<void> {
    const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'config.json'), `${JSON.stringify(this.config.toJSON(), null, 2)}\n`);
    await k.saveSafetensors(path.join(dir, 'model.safetensors'), this.stateDict(), { format: 'pt' });
  }

  get device(): k.Device {
    return this.generator.weight.device;
  }

  private checkIds(op: string, name: string, ids: k.Tensor): void {
    if (ids.ndim !== 2 || k.isFloating(ids.dtype) || ids.dtype === 'bool')
      throw new Error(`${op}: expected integer ${name} [batch, seq], got ${ids.dtype} ${shapeText(ids)}`);
    if (ids.shape[1] > this.config.maxLength)
      throw new Error(`${op}: ${name} ${shapeText(ids)} is longer than maxLength ${this.config.maxLength}`);
  }

  private embed(embedding: nn.Embedding, ids: k.Tensor): k.Tensor {
    return this.positional_encoding.forward(embedding.forward(ids).mul(Math.sqrt(this.config.dModel)));
  }

  /** Runs the encoder over srcIds [B, S] (padded with padTokenId). */
  encode(srcIds: k.Tensor): EncodedSource {
    this.checkIds('Transformer.encode', 'srcIds', srcIds);
    const srcPaddingMask = srcIds.eq(this.config.padTokenId);
    const memory = this.transformer.encoder.forward(this.embed(this.src_embedding, srcIds), {
      srcKeyPaddingMask: srcPaddingMask,
    });
    return { memory, srcPaddingMask };
  }

  /**
   * Runs the decoder over tgtInputIds [B, T] (BOS first, padded with padTokenId) attending causally
   * to itself and to the encoded source; returns its output states [B, T, dModel], before the
   * generator head (decoding needs the head at the last position only).
   */
  decoderStates(tgtInputIds: k.Tensor, source: EncodedSource): k.Tensor {
    this.checkIds('Transformer.decode', 'tgtInputIds', tgtInputIds);
    const { memory, srcPaddingMask } = source;
    if (memory.shape[0] !== tgtInputIds.shape[0])
      throw new Error(
        `Transformer.decode: tgtInputIds ${shapeText(tgtInputIds)} and memory ${shapeText(memory)} have different batch sizes`,
      );
    const t = tgtInputIds.shape[1];
    return this.transformer.decoder.forward(this.embed(this.tgt_embedding, tgtInputIds), memory, {
      tgtMask: nn.Transformer.generateSquareSubsequentMask(t, { device: tgtInputIds.device }),
      tgtKeyPaddingMask: tgtInputIds.eq(this.config.padTokenId),
      memoryKeyPaddingMask: srcPaddingMask,
    });
  }

  /** The decoder and the generator head: logits [B, T, tgtVocabSize] for tgtInputIds [B, T]. */
  decode(tgtInputIds: k.Tensor, source: EncodedSource): k.Tensor {
    return this.generator.forward(this.decoderStates(tgtInputIds, source));
  }

  /**
   * srcIds [B, S] and tgtInputIds [B, T] (BOS then the target, both padded with padTokenId).
   * Returns logits [B, T, tgtVocabSize], and the loss when labels are given.
   */
  override forward(
    srcIds: k.Tensor,
    tgtInputIds: k.Tensor,
    options: TransformerForwardOptions = {},
  ): TransformerOutput {
    this.checkIds('Transformer.forward', 'srcIds', srcIds);
    this.checkIds('Transformer.forward', 'tgtInputIds', tgtInputIds);
    if (srcIds.shape[0] !== tgtInputIds.shape[0])
      throw new Error(
        `Transformer.forward: srcIds ${shapeText(srcIds)} and tgtInputIds ${shapeText(tgtInputIds)} have different batch sizes`,
      );
    const logits = this.decode(tgtInputIds, this.encode(srcIds));
    const out: TransformerOutput = { logits };
    const labels = options.labels ?? null;
    if (labels) {
      if (
        labels.ndim !== 2 ||
        labels.shape[0] !== tgtInputIds.shape[0] ||
        labels.shape[1] !== tgtInputIds.shape[1]
      )
        throw new Error(
          `Transformer.forward: labels must be ${shapeText(tgtInputIds)} like tgtInputIds, got ${shapeText(labels)}`,
        );
      const v = this.config.tgtVocabSize;
      out.loss = F.crossEntropy(logits.reshape(-1, v), labels.reshape(-1), {
        ignoreIndex: this.config.padTokenId,
        labelSmoothing: options.labelSmoothing ?? 0,
      });
    }
    return out;
  }

  /**
   * Translates one source (ids, without padding) or a batch (padded [B, S] ids or rows of ids):
   * greedy, or beam search with numBeams > 1. Runs in the model's current mode: call eval() first.
   */
  translate(src: readonly number[], options?: TranslateOptions): Promise<Translation>;
  translate(
    src: k.Tensor | readonly (readonly number[])[],
    options?: TranslateOptions,
  ): Promise<Translation[]>;
  async translate(
    src: readonly number[] | readonly (readonly number[])[] | k.Tensor,
    options: TranslateOptions = {},
  ): Promise<Translation | Translation[]> {
    if (!k.isTensor(src) && (src.length === 0 || typeof src[0] === 'number')) {
      const [one] = await translate(this, [src as readonly number[]], options);
      return one;
    }
    return translate(this, src as k.Tensor | readonly (readonly number[])[], options);
  }

  /** A getter, not a field: a field holding the module would register it a second time. */
  private get crossAttention(): RecordingMultiheadAttention {
    const decoder = this.transformer.decoder as nn.TransformerDecoder;
    return decoder.layers[decoder.layers.length - 1].multihead_attn as RecordingMultiheadAttention;
  }

  /**
   * Runs `fn` with the last decoder layer's cross-attention recording; returns fn's result and the
   * weights of each decoder pass it made ([B, T, S], averaged over heads).
   */
  withCrossAttention<T>(fn: () => T): [T, k.Tensor[]] {
    const recorded: k.Tensor[] = [];
    this.crossAttention.recorded = recorded;
    try {
      return [fn(), recorded];
    } finally {
      this.crossAttention.recorded = null;
    }
  }
}
