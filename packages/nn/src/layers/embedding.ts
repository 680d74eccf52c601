// Embedding: a lookup table of vectors, weight [num, dim] initialised N(0, 1) with the padding row
// zeroed (PyTorch's default).
import * as k from '@kiln/core';
import { embedding } from '../functional/linear.js';
import { normal_ } from '../init/init.js';
import { Module } from '../module/module.js';
import { type FactoryOptions, factory } from '../module/options.js';
import { Parameter } from '../module/parameter.js';

export interface EmbeddingOptions extends FactoryOptions {
  /** This index's vector gets no gradient and is initialised to zeros. */
  paddingIdx?: number | null;
}

export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: k.Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    const pad = options.paddingIdx ?? null;
    if (pad !== null && (pad >= numEmbeddings || pad < -numEmbeddings)) {
      throw new RangeError(`Embedding: paddingIdx ${pad} must be within num_embeddings (${numEmbeddings})`);
    }
    this.paddingIdx = pad === null ? null : pad < 0 ? pad + numEmbeddings : pad;
    this.weight = Parameter(k.empty([numEmbeddings, embeddingDim], factory(options)));
    this.resetParameters();
  }

  /** An embedding holding `weights` (frozen unless `freeze` is false). */
  static fromPretrained(
    weights: k.Tensor,
    options: { freeze?: boolean; paddingIdx?: number | null } = {},
  ): Embedding {
    if (weights.ndim !== 2)
      throw new Error(
        `Embedding.fromPretrained: embeddings parameter is expected to be 2-dimensional (got shape [${weights.shape.join(', ')}])`,
      );
    const e = new Embedding(weights.shape[0], weights.shape[1], {
      paddingIdx: options.paddingIdx,
      dtype: weights.dtype,
      device: weights.device,
    });
    k.noGrad(() => e.weight.copy_(weights));
    e.weight.requiresGrad_(options.freeze === false);
    return e;
  }

  resetParameters(): void {
    normal_(this.weight);
    if (this.paddingIdx !== null) {
      const pad = this.paddingIdx;
      k.noGrad(() => {
        const row = this.weight.select(0, pad);
        row.fill_(0);
        row.dispose();
      });
    }
  }

  override forward(input: k.Tensor): k.Tensor {
    return embedding(input, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
