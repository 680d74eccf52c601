// Convolution and pooling functions. The ops themselves live in core (kernels on every backend);
// these are their torch.nn.functional names, plus the non-zero padding modes of Conv layers.
import type * as k from '@kiln/core';
import { type PadMode, pad } from './pad.js';

export type {
  AvgPool2dOptions,
  Conv1dOptions,
  Conv2dOptions,
  ConvTranspose2dOptions,
  MaxPool2dOptions,
} from '@kiln/core';
export { adaptiveAvgPool2d, avgPool2d, conv1d, conv2d, convTranspose2d, maxPool2d } from '@kiln/core';

export type PaddingMode = 'zeros' | Exclude<PadMode, 'constant'>;

/**
 * The explicit F.pad amounts (last dim first) a conv with `padding` and a non-zero padding mode
 * applies before convolving without padding, as torch's `_reversed_padding_repeated_twice`: for
 * 'same', total = dilation * (kernel - 1) split with the extra element on the right.
 */
export function convPadAmounts(
  padding: readonly number[] | 'same' | 'valid',
  kernel: readonly number[],
  dilation: readonly number[],
): number[] {
  const out: number[] = [];
  for (let i = kernel.length - 1; i >= 0; i--) {
    if (padding === 'valid') out.push(0, 0);
    else if (padding === 'same') {
      const total = dilation[i] * (kernel[i] - 1);
      const left = Math.floor(total / 2);
      out.push(left, total - left);
    } else out.push(padding[i], padding[i]);
  }
  return out;
}

/** Pads `x` for a convolution with `mode` ('zeros' leaves padding to the conv itself). */
export function padForConv(x: k.Tensor, mode: PaddingMode, amounts: readonly number[]): k.Tensor {
  return mode === 'zeros' ? x : pad(x, amounts, mode);
}
