// nn.MultiheadAttention with torch's parameter names (in_proj_weight, in_proj_bias, out_proj,
// q/k/v_proj_weight when key or value dims differ, bias_k / bias_v) and semantics (sequence-first
// by default, boolean masks mark what is masked out, attention weights averaged over heads).
import * as k from '@kiln/core';
import { multiHeadAttentionForward } from '../functional/attention.js';
import { constant_, xavierNormal_, xavierUniform_ } from '../init/init.js';
import { Module } from '../module/module.js';
import { type FactoryOptions, factory } from '../module/options.js';
import { Parameter } from '../module/parameter.js';
import { Linear } from './linear.js';

/** The output projection's class in torch (a Linear; the name only matters for printing). */
export class NonDynamicallyQuantizableLinear extends Linear {}

export interface MultiheadAttentionOptions extends FactoryOptions {
  /** Dropout on the attention weights (training only). */
  dropout?: number;
  bias?: boolean;
  addBiasKv?: boolean;
  addZeroAttn?: boolean;
  kdim?: number;
  vdim?: number;
  /** Inputs and output are [N, L, E] instead of [L, N, E]. */
  batchFirst?: boolean;
}

export interface MultiheadAttentionCallOptions {
  /** [N, S] (or [S]): true (or -inf) for keys to ignore, such as padding. */
  keyPaddingMask?: k.Tensor | null;
  /** Return the attention weights (default true, as in torch). */
  needWeights?: boolean;
  /** [L, S] or [N * numHeads, L, S]: true for positions not allowed to attend, or a float mask added to the scores. */
  attnMask?: k.Tensor | null;
  /** Average the returned weights over heads (default true). */
  averageAttnWeights?: boolean;
  /** Apply a causal mask (when no attnMask is given). */
  isCausal?: boolean;
}

export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly numHeads: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly headDim: number;
  readonly addZeroAttn: boolean;
  in_proj_weight: k.Tensor | null = null;
  q_proj_weight: k.Tensor | null = null;
  k_proj_weight: k.Tensor | null = null;
  v_proj_weight: k.Tensor | null = null;
  in_proj_bias: k.Tensor | null = null;
  out_proj: NonDynamicallyQuantizableLinear;
  bias_k: k.Tensor | null = null;
  bias_v: k.Tensor | null = null;

  constructor(embedDim: number, numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    this.embedDim = embedDim;
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    this.numHeads = numHeads;
    this.dropout = options.dropout ?? 0;
    this.batchFirst = options.batchFirst ?? false;
    this.headDim = embedDim / numHeads;
    this.addZeroAttn = options.addZeroAttn ?? false;
    if (!Number.isInteger(this.headDim))
      throw new Error(
        `MultiheadAttention: embed_dim (${embedDim}) must be divisible by num_heads (${numHeads})`,
      );
    const f = factory(options);
    if (this.kdim === embedDim && this.vdim === embedDim) {
      this.in_proj_weight = Parameter(k.empty([3 * embedDim, embedDim], f));
    } else {
      this.q_proj_weight = Parameter(k.empty([embedDim, embedDim], f));
      this.k_proj_weight = Parameter(k.empty([embedDim, this.kdim], f));
      this.v_proj_weight = Parameter(k.empty([embedDim, this.vdim], f));
    }
    const bias = options.bias ?? true;
    if (bias) this.in_proj_bias = Parameter(k.empty([3 * embedDim], f));
    this.out_proj = new NonDynamicallyQuantizableLinear(embedDim, embedDim, { ...f, bias });
    if (options.addBiasKv) {
      this.bias_k = Parameter(k.empty([1, 1, embedDim], f));
      this.bias_v = Parameter(k.empty([1, 1, embedDim], f));
    }
    this.resetParameters();
  }

  /** torch's _reset_parameters: Xavier-uniform projections, zero biases, Xavier-normal bias_k/v. */
  resetParameters(): void {
    for (const w of [this.in_proj_weight, this.q_proj_weight, this.k_proj_weight, this.v_proj_weight])
      if (w) xavierUniform_(w);
    if (this.in_proj_bias) {
      constant_(this.in_proj_bias, 0);
      if (this.out_proj.bias) constant_(this.out_proj.bias, 0);
    }
    if (this.bias_k) xavierNormal_(this.bias_k);
    if (this.bias_v) xavierNormal_(this.bias_v);
  }

  get inProjWeight(): k.Tensor | null {
    return this.in_proj_weight;
  }

  get inProjBias(): k.Tensor | null {
    return this.in_proj_bias;
  }

  get outProj(): Linear {
    return this.out_proj;
  }

  /**
   * Attention of `query` over `key`/`value`: [L, N, E] inputs ([N, L, E] with batchFirst, or
   * unbatched [L, E]). Returns the output (query's layout) and the attention weights ([N, L, S],
   * or [N, numHeads, L, S] without averaging), or null for the weights when needWeights is false.
   */
  override forward(
    query: k.Tensor,
    key: k.Tensor,
    value: k.Tensor,
    options: MultiheadAttentionCallOptions = {},
  ): [k.Tensor, k.Tensor | null] {
    const e = query.shape[query.ndim - 1];
    if (
      e !== this.embedDim ||
      key.shape[key.ndim - 1] !== this.kdim ||
      value.shape[value.ndim - 1] !== this.vdim
    ) {
      throw new Error(
        `${this.moduleName}(embed_dim=${this.embedDim}, num_heads=${this.numHeads}): expected query, key and value feature sizes ${this.embedDim}, ${this.kdim}, ${this.vdim}, got [${query.shape.join(', ')}], [${key.shape.join(', ')}], [${value.shape.join(', ')}]`,
      );
    }
    const flip = this.batchFirst && query.ndim === 3;
    const [q, kk, v] = flip ? [query, key, value].map((t) => t.transpose(0, 1)) : [query, key, value];
    const [out, weights] = multiHeadAttentionForward(q, kk, v, {
      numHeads: this.numHeads,
      inProjWeight: this.in_proj_weight,
      inProjBias: this.in_proj_bias,
      qProjWeight: this.q_proj_weight,
      kProjWeight: this.k_proj_weight,
      vProjWeight: this.v_proj_weight,
      biasK: this.bias_k,
      biasV: this.bias_v,
      addZeroAttn: this.addZeroAttn,
      outProjWeight: this.out_proj.weight,
      outProjBias: this.out_proj.bias,
      dropoutP: this.dropout,
      training: this.training,
      keyPaddingMask: options.keyPaddingMask,
      attnMask: options.attnMask,
      needWeights: options.needWeights ?? true,
      averageAttnWeights: options.averageAttnWeights ?? true,
      isCausal: options.isCausal,
    });
    return [flip ? out.transpose(0, 1) : out, weights];
  }
}
