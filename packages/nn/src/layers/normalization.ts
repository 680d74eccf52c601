// Normalisation layers: BatchNorm1d/2d (running statistics as buffers), LayerNorm, RMSNorm and
// GroupNorm. Parameter and buffer names are PyTorch's (weight, bias, running_mean, running_var,
// num_batches_tracked), so checkpoints map one to one.
import * as k from '@kiln/core';
import { batchNorm, groupNorm, layerNorm, rmsNorm } from '../functional/normalization.js';
import { ones_, zeros_ } from '../init/init.js';
import { Module } from '../module/module.js';
import { type FactoryOptions, factory } from '../module/options.js';
import { Parameter } from '../module/parameter.js';
import { pyBool, pyFloat, pyTuple } from '../module/repr.js';

export interface BatchNormLayerOptions extends FactoryOptions {
  eps?: number;
  /** Weight of the newest batch in the running statistics; null for a cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
  /** Keep running statistics for eval mode (default true). */
  trackRunningStats?: boolean;
}

abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: k.Tensor | null;
  bias: k.Tensor | null;
  declare running_mean: k.Tensor | null;
  declare running_var: k.Tensor | null;
  declare num_batches_tracked: k.Tensor | null;

  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super();
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    const f = factory(options);
    this.weight = this.affine ? Parameter(k.ones([numFeatures], f)) : null;
    this.bias = this.affine ? Parameter(k.zeros([numFeatures], f)) : null;
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', k.zeros([numFeatures], f));
      this.registerBuffer('running_var', k.ones([numFeatures], f));
      // A host buffer: it is int64, which WebGPU cannot store, and momentum null reads it each step.
      this.registerHostBuffer('num_batches_tracked', k.zeros([], { dtype: 'int64', device: 'cpu' }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerHostBuffer('num_batches_tracked', null);
    }
  }

  get runningMean(): k.Tensor | null {
    return this.running_mean;
  }

  get runningVar(): k.Tensor | null {
    return this.running_var;
  }

  get numBatchesTracked(): k.Tensor | null {
    return this.num_batches_tracked;
  }

  resetRunningStats(): void {
    if (!this.trackRunningStats) return;
    k.noGrad(() => {
      this.running_mean!.zero_();
      this.running_var!.fill_(1);
      this.num_batches_tracked!.zero_();
    });
  }

  resetParameters(): void {
    this.resetRunningStats();
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }

  /** The accepted input ranks, for the error message. */
  protected abstract checkInput(x: k.Tensor): void;

  override forward(x: k.Tensor): k.Tensor {
    this.checkInput(x);
    if (x.shape[1] !== this.numFeatures) {
      throw new Error(
        `${this.toString()}: expected ${this.numFeatures} channels in dim 1, got input of shape [${x.shape.join(', ')}]`,
      );
    }
    let factor = this.momentum ?? 0;
    if (this.training && this.trackRunningStats) {
      const tracked = this.num_batches_tracked!;
      k.noGrad(() => tracked.add_(1));
      // momentum null: a cumulative moving average, factor 1 / batches seen. The count is a host
      // buffer, so this read never waits on the device.
      if (this.momentum === null) factor = 1 / tracked.itemSync();
    }
    const useBatchStats = this.training || this.running_mean === null;
    return batchNorm(x, {
      runningMean: !this.training || this.trackRunningStats ? this.running_mean : null,
      runningVar: !this.training || this.trackRunningStats ? this.running_var : null,
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum: factor,
      eps: this.eps,
    });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum === null ? 'None' : pyFloat(this.momentum)}, affine=${pyBool(this.affine)}, track_running_stats=${pyBool(this.trackRunningStats)}`;
  }
}

/** Batch norm over [N, C] or [N, C, L] inputs. */
export class BatchNorm1d extends BatchNormBase {
  protected checkInput(x: k.Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3)
      throw new Error(
        `${this.toString()}: expected 2D or 3D input (got ${x.ndim}D input of shape [${x.shape.join(', ')}])`,
      );
  }
}

/** Batch norm over [N, C, H, W] inputs. */
export class BatchNorm2d extends BatchNormBase {
  protected checkInput(x: k.Tensor): void {
    if (x.ndim !== 4)
      throw new Error(
        `${this.toString()}: expected 4D input (got ${x.ndim}D input of shape [${x.shape.join(', ')}])`,
      );
  }
}

export interface LayerNormOptions extends FactoryOptions {
  eps?: number;
  /** Learn weight (and bias) of the normalised shape (default true). */
  elementwiseAffine?: boolean;
  /** Learn the additive bias when elementwiseAffine (default true). */
  bias?: boolean;
}

function normalizedShapeOf(s: number | readonly number[]): number[] {
  return typeof s === 'number' ? [s] : [...s];
}

export class LayerNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  weight: k.Tensor | null;
  bias: k.Tensor | null;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = normalizedShapeOf(normalizedShape);
    this.eps = options.eps ?? 1e-5;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    const f = factory(options);
    this.weight = this.elementwiseAffine ? Parameter(k.ones(this.normalizedShape, f)) : null;
    this.bias =
      this.elementwiseAffine && options.bias !== false ? Parameter(k.zeros(this.normalizedShape, f)) : null;
  }

  override forward(x: k.Tensor): k.Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

export interface RMSNormOptions extends FactoryOptions {
  /** Added to the mean square; null (default) uses the input dtype's machine epsilon. */
  eps?: number | null;
  elementwiseAffine?: boolean;
}

export class RMSNorm extends Module {
  readonly normalizedShape: number[];
  readonly eps: number | null;
  readonly elementwiseAffine: boolean;
  weight: k.Tensor | null;

  constructor(normalizedShape: number | readonly number[], options: RMSNormOptions = {}) {
    super();
    this.normalizedShape = normalizedShapeOf(normalizedShape);
    this.eps = options.eps ?? null;
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    this.weight = this.elementwiseAffine ? Parameter(k.ones(this.normalizedShape, factory(options))) : null;
  }

  override forward(x: k.Tensor): k.Tensor {
    return rmsNorm(x, this.normalizedShape, this.weight, this.eps);
  }

  override extraRepr(): string {
    return `${pyTuple(this.normalizedShape)}, eps=${this.eps === null ? 'None' : pyFloat(this.eps)}, elementwise_affine=${pyBool(this.elementwiseAffine)}`;
  }
}

export interface GroupNormOptions extends FactoryOptions {
  eps?: number;
  affine?: boolean;
}

export class GroupNorm extends Module {
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;
  readonly affine: boolean;
  weight: k.Tensor | null;
  bias: k.Tensor | null;

  constructor(numGroups: number, numChannels: number, options: GroupNormOptions = {}) {
    super();
    if (numChannels % numGroups !== 0)
      throw new Error(
        `GroupNorm: num_channels (${numChannels}) must be divisible by num_groups (${numGroups})`,
      );
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = options.eps ?? 1e-5;
    this.affine = options.affine ?? true;
    const f = factory(options);
    this.weight = this.affine ? Parameter(k.ones([numChannels], f)) : null;
    this.bias = this.affine ? Parameter(k.zeros([numChannels], f)) : null;
  }

  override forward(x: k.Tensor): k.Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      throw new Error(
        `${this.toString()}: expected input [N, ${this.numChannels}, *], got shape [${x.shape.join(', ')}]`,
      );
    }
    return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `${this.numGroups}, ${this.numChannels}, eps=${pyFloat(this.eps)}, affine=${pyBool(this.affine)}`;
  }
}
