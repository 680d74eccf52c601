// Transformer encoder/decoder layers and stacks with torch.nn's structure and parameter names
// (self_attn, multihead_attn, linear1, linear2, norm1..3), post-norm by default or pre-norm with
// normFirst, relu/gelu activations, sequence-first by default or batchFirst. Stacks clone the given
// layer, so every layer starts from the same weights, as torch's _get_clones (deepcopy) does.
import * as k from '@kiln/core';
import { gelu, relu } from '../functional/activation.js';
import { xavierUniform_ } from '../init/init.js';
import { ModuleList, type TensorModule } from '../module/containers.js';
import { Module } from '../module/module.js';
import type { FactoryOptions } from '../module/options.js';
import { MultiheadAttention } from './attention.js';
import { Dropout } from './dropout.js';
import { Linear } from './linear.js';
import { LayerNorm } from './normalization.js';

export type TransformerActivation = 'relu' | 'gelu' | ((x: k.Tensor) => k.Tensor) | TensorModule;

export interface TransformerLayerOptions extends FactoryOptions {
  dimFeedforward?: number;
  dropout?: number;
  activation?: TransformerActivation;
  layerNormEps?: number;
  batchFirst?: boolean;
  /** Pre-norm: normalise before attention and feedforward instead of after the residual add. */
  normFirst?: boolean;
}

export interface EncoderLayerCallOptions {
  srcMask?: k.Tensor | null;
  srcKeyPaddingMask?: k.Tensor | null;
  isCausal?: boolean;
}

export interface DecoderLayerCallOptions {
  tgtMask?: k.Tensor | null;
  memoryMask?: k.Tensor | null;
  tgtKeyPaddingMask?: k.Tensor | null;
  memoryKeyPaddingMask?: k.Tensor | null;
  tgtIsCausal?: boolean;
}

function activationOf(a: TransformerActivation): ((x: k.Tensor) => k.Tensor) | TensorModule {
  if (a === 'relu') return relu;
  if (a === 'gelu') return (x) => gelu(x);
  if (typeof a === 'function' || a instanceof Module) return a;
  throw new Error(`activation should be relu/gelu, not ${String(a)}`);
}

function applyActivation(a: ((x: k.Tensor) => k.Tensor) | TensorModule, x: k.Tensor): k.Tensor {
  return a instanceof Module ? (a as TensorModule).forward(x) : a(x);
}

export class TransformerEncoderLayer extends Module {
  self_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm_first: boolean;
  norm1: LayerNorm;
  norm2: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  activation: ((x: k.Tensor) => k.Tensor) | TensorModule;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    const f = { dtype: options.dtype, device: options.device };
    const p = options.dropout ?? 0.1;
    const eps = options.layerNormEps ?? 1e-5;
    const dff = options.dimFeedforward ?? 2048;
    this.self_attn = new MultiheadAttention(dModel, nhead, {
      ...f,
      dropout: p,
      batchFirst: options.batchFirst ?? false,
    });
    this.linear1 = new Linear(dModel, dff, f);
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(dff, dModel, f);
    this.norm_first = options.normFirst ?? false;
    this.norm1 = new LayerNorm(dModel, { ...f, eps });
    this.norm2 = new LayerNorm(dModel, { ...f, eps });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    this.activation = activationOf(options.activation ?? 'relu');
  }

  get selfAttn(): MultiheadAttention {
    return this.self_attn;
  }

  override forward(src: k.Tensor, options: EncoderLayerCallOptions = {}): k.Tensor {
    const sa = (x: k.Tensor) =>
      this.dropout1.forward(
        this.self_attn.forward(x, x, x, {
          attnMask: options.srcMask,
          keyPaddingMask: options.srcKeyPaddingMask,
          needWeights: false,
          isCausal: options.isCausal,
        })[0],
      );
    const ff = (x: k.Tensor) =>
      this.dropout2.forward(
        this.linear2.forward(this.dropout.forward(applyActivation(this.activation, this.linear1.forward(x)))),
      );
    let x = src;
    if (this.norm_first) {
      x = x.add(sa(this.norm1.forward(x)));
      x = x.add(ff(this.norm2.forward(x)));
    } else {
      x = this.norm1.forward(x.add(sa(x)));
      x = this.norm2.forward(x.add(ff(x)));
    }
    return x;
  }
}

export class TransformerDecoderLayer extends Module {
  self_attn: MultiheadAttention;
  multihead_attn: MultiheadAttention;
  linear1: Linear;
  dropout: Dropout;
  linear2: Linear;
  norm_first: boolean;
  norm1: LayerNorm;
  norm2: LayerNorm;
  norm3: LayerNorm;
  dropout1: Dropout;
  dropout2: Dropout;
  dropout3: Dropout;
  activation: ((x: k.Tensor) => k.Tensor) | TensorModule;

  constructor(dModel: number, nhead: number, options: TransformerLayerOptions = {}) {
    super();
    const f = { dtype: options.dtype, device: options.device };
    const p = options.dropout ?? 0.1;
    const eps = options.layerNormEps ?? 1e-5;
    const dff = options.dimFeedforward ?? 2048;
    const batchFirst = options.batchFirst ?? false;
    this.self_attn = new MultiheadAttention(dModel, nhead, { ...f, dropout: p, batchFirst });
    this.multihead_attn = new MultiheadAttention(dModel, nhead, { ...f, dropout: p, batchFirst });
    this.linear1 = new Linear(dModel, dff, f);
    this.dropout = new Dropout(p);
    this.linear2 = new Linear(dff, dModel, f);
    this.norm_first = options.normFirst ?? false;
    this.norm1 = new LayerNorm(dModel, { ...f, eps });
    this.norm2 = new LayerNorm(dModel, { ...f, eps });
    this.norm3 = new LayerNorm(dModel, { ...f, eps });
    this.dropout1 = new Dropout(p);
    this.dropout2 = new Dropout(p);
    this.dropout3 = new Dropout(p);
    this.activation = activationOf(options.activation ?? 'relu');
  }

  get selfAttn(): MultiheadAttention {
    return this.self_attn;
  }

  get multiheadAttn(): MultiheadAttention {
    return this.multihead_attn;
  }

  override forward(tgt: k.Tensor, memory: k.Tensor, options: DecoderLayerCallOptions = {}): k.Tensor {
    const sa = (x: k.Tensor) =>
      this.dropout1.forward(
        this.self_attn.forward(x, x, x, {
          attnMask: options.tgtMask,
          keyPaddingMask: options.tgtKeyPaddingMask,
          needWeights: false,
          isCausal: options.tgtIsCausal,
        })[0],
      );
    const mha = (x: k.Tensor) =>
      this.dropout2.forward(
        this.multihead_attn.forward(x, memory, memory, {
          attnMask: options.memoryMask,
          keyPaddingMask: options.memoryKeyPaddingMask,
          needWeights: false,
        })[0],
      );
    const ff = (x: k.Tensor) =>
      this.dropout3.forward(
        this.linear2.forward(this.dropout.forward(applyActivation(this.activation, this.linear1.forward(x)))),
      );
    let x = tgt;
    if (this.norm_first) {
      x = x.add(sa(this.norm1.forward(x)));
      x = x.add(mha(this.norm2.forward(x)));
      x = x.add(ff(this.norm3.forward(x)));
    } else {
      x = this.norm1.forward(x.add(sa(x)));
      x = this.norm2.forward(x.add(mha(x)));
      x = this.norm3.forward(x.add(ff(x)));
    }
    return x;
  }
}

export interface EncoderCallOptions {
  mask?: k.Tensor | null;
  srcKeyPaddingMask?: k.Tensor | null;
  isCausal?: boolean;
}

/** A stack of `numLayers` copies of `encoderLayer`, optionally followed by a final norm. */
export class TransformerEncoder extends Module {
  layers: ModuleList<TransformerEncoderLayer>;
  num_layers: number;
  norm: LayerNorm | null;

  constructor(
    encoderLayer: TransformerEncoderLayer,
    numLayers: number,
    options: { norm?: LayerNorm | null } = {},
  ) {
    super();
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => encoderLayer.deepCopy()));
    this.num_layers = numLayers;
    this.norm = options.norm ?? null;
  }

  override forward(src: k.Tensor, options: EncoderCallOptions = {}): k.Tensor {
    let out = src;
    for (const layer of this.layers)
      out = layer.forward(out, {
        srcMask: options.mask,
        srcKeyPaddingMask: options.srcKeyPaddingMask,
        isCausal: options.isCausal,
      });
    return this.norm ? this.norm.forward(out) : out;
  }
}

/** A stack of `numLayers` copies of `decoderLayer`, optionally followed by a final norm. */
export class TransformerDecoder extends Module {
  layers: ModuleList<TransformerDecoderLayer>;
  num_layers: number;
  norm: LayerNorm | null;

  constructor(
    decoderLayer: TransformerDecoderLayer,
    numLayers: number,
    options: { norm?: LayerNorm | null } = {},
  ) {
    super();
    this.layers = new ModuleList(Array.from({ length: numLayers }, () => decoderLayer.deepCopy()));
    this.num_layers = numLayers;
    this.norm = options.norm ?? null;
  }

  override forward(tgt: k.Tensor, memory: k.Tensor, options: DecoderLayerCallOptions = {}): k.Tensor {
    let out = tgt;
    for (const layer of this.layers) out = layer.forward(out, memory, options);
    return this.norm ? this.norm.forward(out) : out;
  }
}

/** What Transformer accepts as a custom encoder: a module run as encoder(src, options). */
export interface EncoderModule extends Module {
  forward(src: k.Tensor, options?: EncoderCallOptions): k.Tensor;
}

/** What Transformer accepts as a custom decoder: a module run as decoder(tgt, memory, options). */
export interface DecoderModule extends Module {
  forward(tgt: k.Tensor, memory: k.Tensor, options?: DecoderLayerCallOptions): k.Tensor;
}

export interface TransformerOptions extends TransformerLayerOptions {
  dModel?: number;
  nhead?: number;
  numEncoderLayers?: number;
  numDecoderLayers?: number;
  customEncoder?: EncoderModule;
  customDecoder?: DecoderModule;
}

export interface TransformerCallOptions {
  srcMask?: k.Tensor | null;
  tgtMask?: k.Tensor | null;
  memoryMask?: k.Tensor | null;
  srcKeyPaddingMask?: k.Tensor | null;
  tgtKeyPaddingMask?: k.Tensor | null;
  memoryKeyPaddingMask?: k.Tensor | null;
}

/** The encoder-decoder Transformer of "Attention Is All You Need", as torch.nn.Transformer. */
export class Transformer extends Module {
  encoder: EncoderModule;
  decoder: DecoderModule;
  readonly d_model: number;
  readonly nhead: number;
  readonly batch_first: boolean;

  constructor(options: TransformerOptions = {}) {
    super();
    const dModel = options.dModel ?? 512;
    const nhead = options.nhead ?? 8;
    const f = { dtype: options.dtype, device: options.device };
    const eps = options.layerNormEps ?? 1e-5;
    this.encoder =
      options.customEncoder ??
      new TransformerEncoder(
        new TransformerEncoderLayer(dModel, nhead, options),
        options.numEncoderLayers ?? 6,
        { norm: new LayerNorm(dModel, { ...f, eps }) },
      );
    this.decoder =
      options.customDecoder ??
      new TransformerDecoder(
        new TransformerDecoderLayer(dModel, nhead, options),
        options.numDecoderLayers ?? 6,
        { norm: new LayerNorm(dModel, { ...f, eps }) },
      );
    this.d_model = dModel;
    this.nhead = nhead;
    this.batch_first = options.batchFirst ?? false;
    for (const p of this.parameters()) if (p.ndim > 1) xavierUniform_(p);
  }

  override forward(src: k.Tensor, tgt: k.Tensor, options: TransformerCallOptions = {}): k.Tensor {
    const batched = src.ndim === 3;
    const batchDim = this.batch_first ? 0 : 1;
    if (batched && src.shape[batchDim] !== tgt.shape[batchDim])
      throw new Error(
        `Transformer: the batch number of src [${src.shape.join(', ')}] and tgt [${tgt.shape.join(', ')}] must be equal`,
      );
    if (src.shape[src.ndim - 1] !== this.d_model || tgt.shape[tgt.ndim - 1] !== this.d_model) {
      throw new Error(
        `Transformer: the feature number of src [${src.shape.join(', ')}] and tgt [${tgt.shape.join(', ')}] must be equal to d_model (${this.d_model})`,
      );
    }
    const memory = this.encoder.forward(src, {
      mask: options.srcMask,
      srcKeyPaddingMask: options.srcKeyPaddingMask,
    });
    return this.decoder.forward(tgt, memory, {
      tgtMask: options.tgtMask,
      memoryMask: options.memoryMask,
      tgtKeyPaddingMask: options.tgtKeyPaddingMask,
      memoryKeyPaddingMask: options.memoryKeyPaddingMask,
    });
  }

  /** A float [sz, sz] mask with -inf above the diagonal (each position attends to itself and the past). */
  static generateSquareSubsequentMask(sz: number, options: FactoryOptions = {}): k.Tensor {
    return k.tidy(() =>
      k.full([sz, sz], Number.NEGATIVE_INFINITY, { dtype: options.dtype, device: options.device }).triu(1),
    );
  }
}
