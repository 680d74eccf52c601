// F.interpolate: nearest, nearest-exact, linear and bilinear resampling of [N, C, *spatial] inputs,
// with torch's source-index rules (area_pixel_compute_source_index). Each spatial dim is resampled
// separately: an index gather (nearest) or two gathers blended by per-position weights (linear),
// which is exactly the separable form of bilinear interpolation; gradients come from indexSelect.
import * as k from '@kiln/core';

export type InterpolateMode = 'nearest' | 'nearest-exact' | 'linear' | 'bilinear';

export interface InterpolateOptions {
  /** Output spatial size (one number for every spatial dim, or one per dim). */
  size?: number | readonly number[];
  /** Multiplier of each spatial size (the output size is floor(in * scale)). */
  scaleFactor?: number | readonly number[];
  mode?: InterpolateMode;
  /** Linear modes: align the centres of the corner pixels (default false). */
  alignCorners?: boolean | null;
}

const SPATIAL: Record<InterpolateMode, number | null> = {
  nearest: null,
  'nearest-exact': null,
  linear: 1,
  bilinear: 2,
};

function perDim(name: string, v: number | readonly number[], dims: number): number[] {
  const arr = typeof v === 'number' ? new Array<number>(dims).fill(v) : [...v];
  if (arr.length !== dims)
    throw new Error(`interpolate: ${name} has ${arr.length} values for ${dims} spatial dims`);
  return arr;
}

/** Source coordinate scale: torch's area_pixel_compute_scale. */
function pixelScale(
  inSize: number,
  outSize: number,
  alignCorners: boolean,
  scaleFactor: number | undefined,
): number {
  if (alignCorners) return outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  return scaleFactor !== undefined && scaleFactor > 0 ? 1 / scaleFactor : inSize / outSize;
}

function resampleDim(
  x: k.Tensor,
  dim: number,
  outSize: number,
  mode: InterpolateMode,
  alignCorners: boolean,
  scaleFactor: number | undefined,
): k.Tensor {
  const inSize = x.shape[dim];
  const scale = pixelScale(
    inSize,
    outSize,
    alignCorners && (mode === 'linear' || mode === 'bilinear'),
    scaleFactor,
  );
  if (mode === 'nearest' || mode === 'nearest-exact') {
    const idx = new Int32Array(outSize);
    const offset = mode === 'nearest-exact' ? 0.5 : 0;
    for (let o = 0; o < outSize; o++) idx[o] = Math.min(Math.floor((o + offset) * scale), inSize - 1);
    return x.indexSelect(dim, k.tensor(idx, { device: x.device }));
  }
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const w = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    let src = alignCorners ? scale * o : scale * (o + 0.5) - 0.5;
    if (src < 0) src = 0;
    const i0 = Math.min(Math.floor(src), inSize - 1);
    lo[o] = i0;
    hi[o] = i0 < inSize - 1 ? i0 + 1 : i0;
    w[o] = src - i0;
  }
  const shape = x.shape.map((_, i) => (i === dim ? outSize : 1));
  const lambda = k.tensor(w, { dtype: x.dtype, device: x.device }).reshape(shape);
  const a = x.indexSelect(dim, k.tensor(lo, { device: x.device }));
  const b = x.indexSelect(dim, k.tensor(hi, { device: x.device }));
  // a (1 - l) + b l, written as a + (b - a) l
  return a.add(b.sub(a).mul(lambda));
}

export function interpolate(x: k.Tensor, options: InterpolateOptions): k.Tensor {
  const mode = options.mode ?? 'nearest';
  if (!(mode in SPATIAL))
    throw new Error(
      `interpolate: unsupported mode '${mode}' (supported: ${Object.keys(SPATIAL).join(', ')})`,
    );
  const dims = x.ndim - 2;
  if (dims < 1)
    throw new Error(
      `interpolate: expected an input [N, C, *spatial] with at least one spatial dim, got [${x.shape.join(', ')}]`,
    );
  const required = SPATIAL[mode];
  if (required !== null && required !== dims) {
    throw new Error(
      `interpolate: mode '${mode}' expects a ${required + 2}-D input, got [${x.shape.join(', ')}]`,
    );
  }
  const alignCorners = options.alignCorners ?? false;
  if (alignCorners && (mode === 'nearest' || mode === 'nearest-exact')) {
    throw new Error(
      'interpolate: alignCorners option can only be set with the interpolating modes: linear | bilinear',
    );
  }
  if ((options.size === undefined) === (options.scaleFactor === undefined))
    throw new Error('interpolate: exactly one of size or scaleFactor must be given');
  const spatial = x.shape.slice(2);
  const factors =
    options.scaleFactor === undefined ? undefined : perDim('scaleFactor', options.scaleFactor, dims);
  const sizes =
    options.size !== undefined
      ? perDim('size', options.size, dims)
      : spatial.map((s, i) => Math.floor(s * factors![i]));
  let out = x;
  for (let i = 0; i < dims; i++) out = resampleDim(out, 2 + i, sizes[i], mode, alignCorners, factors?.[i]);
  return out === x ? x.clone() : out;
}
