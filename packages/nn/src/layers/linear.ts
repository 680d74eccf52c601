// Linear, LazyLinear, Bilinear, Identity, Flatten and Unflatten.
import * as k from '@kiln/core';
import { bilinear, linear } from '../functional/linear.js';
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from '../init/init.js';
import { Module, type StateDict } from '../module/module.js';
import { type FactoryOptions, factory } from '../module/options.js';
import { Parameter } from '../module/parameter.js';
import { pyBool } from '../module/repr.js';

export interface LinearOptions extends FactoryOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * PyTorch's default for Linear and Conv: weight ~ kaiming_uniform(a = sqrt(5)), i.e.
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
 */
export function resetLinearLike(weight: k.Tensor, bias: k.Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const { fanIn } = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}

/** Checks the last dim of a layer's input, naming the layer in the error. */
function checkFeatures(layer: Module, x: k.Tensor, inFeatures: number): void {
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inFeatures) {
    throw new Error(
      `${layer.toString()}: expected input with last dimension ${inFeatures}, got shape [${x.shape.join(', ')}]`,
    );
  }
}

/** y = x W^T + b; weight [out, in], bias [out]. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: k.Tensor;
  bias: k.Tensor | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = Parameter(k.empty([outFeatures, inFeatures], factory(options)));
    this.bias = options.bias === false ? null : Parameter(k.empty([outFeatures], factory(options)));
    this.resetParameters();
  }

  resetParameters(): void {
    resetLinearLike(this.weight, this.bias);
  }

  override forward(x: k.Tensor): k.Tensor {
    checkFeatures(this, x, this.inFeatures);
    return linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

/**
 * A Linear whose in_features is taken from its first input (or from a loaded state dict). Until
 * then it has no weight, so build optimizers after a first forward, as PyTorch advises.
 */
export class LazyLinear extends Module {
  inFeatures = 0;
  readonly outFeatures: number;
  weight: k.Tensor | null = null;
  bias: k.Tensor | null = null;
  private readonly withBias: boolean;
  private readonly factoryOptions: FactoryOptions;

  constructor(outFeatures: number, options: LinearOptions = {}) {
    super();
    this.outFeatures = outFeatures;
    this.withBias = options.bias !== false;
    this.factoryOptions = factory(options);
  }

  get hasUninitializedParams(): boolean {
    return this.weight === null;
  }

  /** Creates the parameters for `inFeatures` inputs and initialises them like Linear. */
  initializeParameters(inFeatures: number): void {
    this.inFeatures = inFeatures;
    this.weight = Parameter(k.empty([this.outFeatures, inFeatures], this.factoryOptions));
    this.bias = this.withBias ? Parameter(k.empty([this.outFeatures], this.factoryOptions)) : null;
    resetLinearLike(this.weight, this.bias);
  }

  protected override prepareLoad(stateDict: StateDict, prefix: string): void {
    const w = stateDict[`${prefix}weight`];
    if (this.weight === null && k.isTensor(w) && w.ndim === 2) this.initializeParameters(w.shape[1]);
  }

  override forward(x: k.Tensor): k.Tensor {
    if (this.weight === null) {
      if (x.ndim === 0)
        throw new Error('LazyLinear: expected an input with at least 1 dimension, got a 0-d tensor');
      this.initializeParameters(x.shape[x.ndim - 1]);
    }
    checkFeatures(this, x, this.inFeatures);
    return linear(x, this.weight!, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(this.withBias)}`;
  }
}

/** y = x1^T A x2 + b; weight [out, in1, in2], bias [out]; both U(-1/sqrt(in1), 1/sqrt(in1)). */
export class Bilinear extends Module {
  readonly in1Features: number;
  readonly in2Features: number;
  readonly outFeatures: number;
  weight: k.Tensor;
  bias: k.Tensor | null;

  constructor(in1Features: number, in2Features: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    this.in1Features = in1Features;
    this.in2Features = in2Features;
    this.outFeatures = outFeatures;
    this.weight = Parameter(k.empty([outFeatures, in1Features, in2Features], factory(options)));
    this.bias = options.bias === false ? null : Parameter(k.empty([outFeatures], factory(options)));
    this.resetParameters();
  }

  resetParameters(): void {
    const bound = 1 / Math.sqrt(this.in1Features);
    uniform_(this.weight, -bound, bound);
    if (this.bias) uniform_(this.bias, -bound, bound);
  }

  override forward(x1: k.Tensor, x2: k.Tensor): k.Tensor {
    checkFeatures(this, x1, this.in1Features);
    checkFeatures(this, x2, this.in2Features);
    return bilinear(x1, x2, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in1_features=${this.in1Features}, in2_features=${this.in2Features}, out_features=${this.outFeatures}, bias=${pyBool(this.bias !== null)}`;
  }
}

export class Identity extends Module {
  override forward(x: k.Tensor): k.Tensor {
    return x;
  }
}

/** Flattens dims startDim..endDim (default 1..-1, keeping the batch dim). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }

  override forward(x: k.Tensor): k.Tensor {
    return x.flatten(this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Splits dim `dim` into `sizes`. */
export class Unflatten extends Module {
  constructor(
    readonly dim: number,
    readonly sizes: readonly number[],
  ) {
    super();
  }

  override forward(x: k.Tensor): k.Tensor {
    const d = this.dim < 0 ? this.dim + x.ndim : this.dim;
    return x.reshape(...x.shape.slice(0, d), ...this.sizes, ...x.shape.slice(d + 1));
  }

  override extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=(${this.sizes.join(', ')})`;
  }
}
