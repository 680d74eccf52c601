// Conv1d, Conv2d and ConvTranspose2d over core's convolution ops, with PyTorch's parameter layout
// ([out, in / groups, *kernel]; transposed: [in, out / groups, *kernel]), default initialisation
// and padding modes (zeros, reflect, replicate, circular; 'same' and 'valid' too).
import * as k from '@kiln/core';
import { convPadAmounts, type PaddingMode, padForConv } from '../functional/conv.js';
import { Module } from '../module/module.js';
import { type FactoryOptions, factory } from '../module/options.js';
import { Parameter } from '../module/parameter.js';
import { pyTuple } from '../module/repr.js';
import { resetLinearLike } from './linear.js';

type SizeN = number | readonly number[];

export interface ConvOptions extends FactoryOptions {
  stride?: SizeN;
  /** Padding on both sides of each spatial dim, or 'same' (stride 1) or 'valid'. */
  padding?: SizeN | 'same' | 'valid';
  dilation?: SizeN;
  groups?: number;
  bias?: boolean;
  paddingMode?: PaddingMode;
}

export interface ConvTranspose2dOptions extends FactoryOptions {
  stride?: SizeN;
  padding?: SizeN;
  outputPadding?: SizeN;
  dilation?: SizeN;
  groups?: number;
  bias?: boolean;
}

function tuple(name: string, v: SizeN, n: number): number[] {
  const arr = typeof v === 'number' ? new Array<number>(n).fill(v) : [...v];
  if (arr.length !== n || !arr.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new Error(`${name} must be a non-negative integer or ${n} of them, got ${JSON.stringify(v)}`);
  }
  return arr;
}

abstract class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'same' | 'valid';
  readonly dilation: number[];
  readonly outputPadding: number[];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  readonly transposed: boolean;
  weight: k.Tensor;
  bias: k.Tensor | null;

  constructor(
    name: string,
    dims: number,
    inChannels: number,
    outChannels: number,
    kernelSize: SizeN,
    options: ConvOptions & { outputPadding?: SizeN },
    transposed: boolean,
  ) {
    super();
    const groups = options.groups ?? 1;
    if (!(Number.isInteger(groups) && groups > 0))
      throw new Error(`${name}: groups must be a positive integer`);
    if (inChannels % groups !== 0)
      throw new Error(`${name}: in_channels (${inChannels}) must be divisible by groups (${groups})`);
    if (outChannels % groups !== 0)
      throw new Error(`${name}: out_channels (${outChannels}) must be divisible by groups (${groups})`);
    const padding = options.padding ?? 0;
    const paddingMode = options.paddingMode ?? 'zeros';
    if (!['zeros', 'reflect', 'replicate', 'circular'].includes(paddingMode)) {
      throw new Error(
        `${name}: padding_mode must be one of 'zeros', 'reflect', 'replicate' or 'circular', but got '${paddingMode}'`,
      );
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = tuple('kernel_size', kernelSize, dims);
    this.stride = tuple('stride', options.stride ?? 1, dims);
    if (padding === 'same' && this.stride.some((s) => s !== 1))
      throw new Error(`${name}: padding='same' is not supported for strided convolutions`);
    this.padding = typeof padding === 'string' ? padding : tuple('padding', padding, dims);
    this.dilation = tuple('dilation', options.dilation ?? 1, dims);
    this.outputPadding = tuple('output_padding', options.outputPadding ?? 0, dims);
    this.groups = groups;
    this.paddingMode = paddingMode;
    this.transposed = transposed;
    const f = factory(options);
    const shape = transposed
      ? [inChannels, outChannels / groups, ...this.kernelSize]
      : [outChannels, inChannels / groups, ...this.kernelSize];
    this.weight = Parameter(k.empty(shape, f));
    this.bias = options.bias === false ? null : Parameter(k.empty([outChannels], f));
    this.resetParameters();
  }

  resetParameters(): void {
    resetLinearLike(this.weight, this.bias);
  }

  /** Checks the input's channel count (batched or unbatched), naming the layer. */
  protected checkInput(x: k.Tensor): void {
    const dims = this.kernelSize.length;
    const batched = x.ndim === dims + 2;
    if ((!batched && x.ndim !== dims + 1) || x.shape[batched ? 1 : 0] !== this.inChannels) {
      const spatial = dims === 1 ? 'L' : 'H, W';
      throw new Error(
        `${this.toString()}: expected input [N, ${this.inChannels}, ${spatial}] or [${this.inChannels}, ${spatial}], got [${x.shape.join(', ')}]`,
      );
    }
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${pyTuple(this.kernelSize)}, stride=${pyTuple(this.stride)}`;
    if (typeof this.padding === 'string') s += `, padding=${this.padding}`;
    else if (this.padding.some((p) => p !== 0)) s += `, padding=${pyTuple(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${pyTuple(this.dilation)}`;
    if (this.outputPadding.some((p) => p !== 0)) s += `, output_padding=${pyTuple(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    if (this.paddingMode !== 'zeros') s += `, padding_mode=${this.paddingMode}`;
    return s;
  }

  /** The input padded for a non-zero padding mode, and the padding left for the conv op. */
  protected padded(x: k.Tensor): { input: k.Tensor; padding: number[] | 'same' | 'valid' } {
    if (this.paddingMode === 'zeros') return { input: x, padding: this.padding };
    const amounts = convPadAmounts(this.padding, this.kernelSize, this.dilation);
    return { input: padForConv(x, this.paddingMode, amounts), padding: this.kernelSize.map(() => 0) };
  }
}

/** 1-D convolution over [N, C_in, L] (or [C_in, L]). */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SizeN, options: ConvOptions = {}) {
    super('Conv1d', 1, inChannels, outChannels, kernelSize, options, false);
  }

  override forward(x: k.Tensor): k.Tensor {
    this.checkInput(x);
    const { input, padding } = this.padded(x);
    return k.conv1d(input, this.weight, this.bias, {
      stride: this.stride[0],
      padding: typeof padding === 'string' ? padding : padding[0],
      dilation: this.dilation[0],
      groups: this.groups,
    });
  }
}

/** 2-D convolution over [N, C_in, H, W] (or [C_in, H, W]). */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: SizeN, options: ConvOptions = {}) {
    super('Conv2d', 2, inChannels, outChannels, kernelSize, options, false);
  }

  override forward(x: k.Tensor): k.Tensor {
    this.checkInput(x);
    const { input, padding } = this.padded(x);
    return k.conv2d(input, this.weight, this.bias, {
      stride: this.stride as [number, number],
      padding: typeof padding === 'string' ? padding : (padding as [number, number]),
      dilation: this.dilation as [number, number],
      groups: this.groups,
    });
  }
}

/** Transposed 2-D convolution (the gradient of Conv2d w.r.t. its input), weight [C_in, C_out / groups, kH, kW]. */
export class ConvTranspose2d extends ConvNd {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: SizeN,
    options: ConvTranspose2dOptions = {},
  ) {
    super('ConvTranspose2d', 2, inChannels, outChannels, kernelSize, options, true);
  }

  /** `outputSize` ([H, W]) picks the output padding that gives that size, as PyTorch's output_size argument. */
  override forward(x: k.Tensor, outputSize?: readonly number[]): k.Tensor {
    this.checkInput(x);
    let outputPadding = this.outputPadding;
    if (outputSize) {
      const spatial = x.shape.slice(-2);
      const want = outputSize.slice(-2);
      outputPadding = spatial.map((s, i) => {
        const min =
          (s - 1) * this.stride[i] -
          2 * (this.padding as number[])[i] +
          this.dilation[i] * (this.kernelSize[i] - 1) +
          1;
        const extra = want[i] - min;
        if (extra < 0 || extra >= Math.max(this.stride[i], this.dilation[i])) {
          throw new Error(
            `${this.toString()}: requested an output size of [${want.join(', ')}], but valid sizes range from ${min} to ${min + Math.max(this.stride[i], this.dilation[i]) - 1} in dim ${i}`,
          );
        }
        return extra;
      });
    }
    return k.convTranspose2d(x, this.weight, this.bias, {
      stride: this.stride as [number, number],
      padding: this.padding as [number, number],
      outputPadding: outputPadding as [number, number],
      dilation: this.dilation as [number, number],
      groups: this.groups,
    });
  }
}
