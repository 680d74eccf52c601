// Resize as PyTorch's F.interpolate(mode='bilinear', align_corners=False, antialias=False) or
// mode='nearest' does it. Both are separable: the output is Wh @ x @ Ww^T, where row d of Wh
// holds the interpolation weights of output row d over the input rows (at most two non-zero).
// Two matmuls with precomputed weight matrices run on every backend with no special kernel.

import type { Device, DType, Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { imageSize, type Transform } from './transform.js';

export type Interpolation = 'bilinear' | 'nearest';

const f32 = Math.fround;

/**
 * The [outSize, inSize] weight matrix of one axis, computed in float32 like PyTorch's CPU kernels
 * for float input (scale = in/out; bilinear: src = scale * (dst + 0.5) - 0.5 clamped at 0, blending
 * floor(src) and the next pixel; nearest: src = min(floor(dst * scale), in - 1)).
 */
export function interpolationWeights(inSize: number, outSize: number, mode: Interpolation): Float64Array {
  const w = new Float64Array(outSize * inSize);
  const scale = f32(inSize / outSize);
  for (let d = 0; d < outSize; d++) {
    if (mode === 'nearest') {
      w[d * inSize + Math.min(Math.floor(f32(d * scale)), inSize - 1)] = 1;
      continue;
    }
    const src = Math.max(f32(f32(scale * f32(d + 0.5)) - 0.5), 0);
    const i0 = Math.floor(src);
    const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
    const lambda1 = f32(src - i0);
    w[d * inSize + i0] += f32(1 - lambda1);
    w[d * inSize + i1] += lambda1;
  }
  return w;
}

/**
 * Output size for `size`: [h, w] exactly, or one number for the shorter edge with the longer one
 * scaled to keep the aspect ratio (torchvision: int(size * long / short)).
 */
export function resizeOutputSize(
  h: number,
  w: number,
  size: number | readonly [number, number],
): [number, number] {
  if (typeof size !== 'number') return [size[0], size[1]];
  return h <= w ? [size, Math.floor((size * w) / h)] : [Math.floor((size * h) / w), size];
}

function weightMatrix(
  inSize: number,
  outSize: number,
  mode: Interpolation,
  dtype: DType,
  device: Device,
): Tensor {
  return k.fromHost(interpolationWeights(inSize, outSize, mode), [outSize, inSize], dtype, device);
}

/**
 * Resizes x [..., H, W] to [..., h, w]. Floating inputs keep their dtype; integer inputs (uint8
 * images) are computed in float32, rounded and cast back, as torchvision does. As with any matmul,
 * a NaN or infinite pixel spreads along its row and column.
 */
export function resize(
  x: Tensor,
  size: number | readonly [number, number],
  mode: Interpolation = 'bilinear',
): Tensor {
  const [h, w] = imageSize('resize', x);
  const [oh, ow] = resizeOutputSize(h, w, size);
  if (![oh, ow].every((v) => Number.isSafeInteger(v) && v >= 1)) {
    throw new Error(
      `resize: output size must be positive integers (got ${oh} x ${ow} from size ${JSON.stringify(size)})`,
    );
  }
  if (mode !== 'bilinear' && mode !== 'nearest')
    throw new Error(`resize: unknown interpolation ${JSON.stringify(mode)}`);
  const floating = x.dtype === 'float32' || x.dtype === 'float64';
  return k.tidy(() => {
    const input = floating ? x : x.to('float32');
    const dtype = input.dtype;
    const rowsDone = oh === h ? input : weightMatrix(h, oh, mode, dtype, x.device).matmul(input);
    const out = ow === w ? rowsDone : rowsDone.matmul(weightMatrix(w, ow, mode, dtype, x.device).T);
    const result = out === x ? x.clone() : out;
    return floating ? result : result.round().to(x.dtype);
  });
}

export interface ResizeOptions {
  interpolation?: Interpolation;
}

/** torchvision's Resize on tensors, with antialias=False (the F.interpolate result). */
export class Resize implements Transform {
  readonly size: number | readonly [number, number];
  readonly interpolation: Interpolation;

  constructor(size: number | readonly [number, number], options: ResizeOptions = {}) {
    this.size = size;
    this.interpolation = options.interpolation ?? 'bilinear';
  }

  apply(x: Tensor): Tensor {
    return resize(x, this.size, this.interpolation);
  }
}
