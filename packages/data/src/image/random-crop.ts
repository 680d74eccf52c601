// torchvision's RandomCrop: optionally pad the borders, then cut a size[0] x size[1] window at a
// uniformly random position (top in 0..H-h, left in 0..W-w, as torch.randint(0, H - h + 1)).

import type { Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import type { Random } from '../random/pcg32.js';
import { imageSize, type RandomTransformOptions, type Transform, transformRandom } from './transform.js';

export interface RandomCropOptions extends RandomTransformOptions {
  /** Border added first: all sides, [left/right, top/bottom], or [left, top, right, bottom]. */
  padding?: number | readonly [number, number] | readonly [number, number, number, number];
  /** Pad an image smaller than the crop up to the crop size (default false: an error). */
  padIfNeeded?: boolean;
  /** Value of the padded pixels (default 0). */
  fill?: number;
}

type Sides = [left: number, top: number, right: number, bottom: number];

function sides(padding: RandomCropOptions['padding']): Sides {
  if (padding === undefined) return [0, 0, 0, 0];
  const p = typeof padding === 'number' ? [padding] : [...padding];
  const s: Sides =
    p.length === 1 ? [p[0], p[0], p[0], p[0]] : p.length === 2 ? [p[0], p[1], p[0], p[1]] : (p as Sides);
  if (s.length !== 4 || s.some((v) => !Number.isSafeInteger(v) || v < 0)) {
    throw new Error(
      `RandomCrop: padding must be non-negative integers: one, two or four of them (got ${JSON.stringify(padding)})`,
    );
  }
  return s;
}

/** Constant padding of the last two dims (the image plane). */
export function padImage(x: Tensor, [left, top, right, bottom]: Sides, fill: number): Tensor {
  if (left + top + right + bottom === 0) return x.clone();
  return k.tidy(() => {
    const opts = { dtype: x.dtype, device: x.device };
    const lead = x.shape.slice(0, -2);
    const [h, w] = imageSize('pad', x);
    const row = [x];
    if (left > 0) row.unshift(k.full([...lead, h, left], fill, opts));
    if (right > 0) row.push(k.full([...lead, h, right], fill, opts));
    const wide = row.length > 1 ? k.cat(row, -1) : x;
    const width = w + left + right;
    const column = [wide];
    if (top > 0) column.unshift(k.full([...lead, top, width], fill, opts));
    if (bottom > 0) column.push(k.full([...lead, bottom, width], fill, opts));
    return column.length > 1 ? k.cat(column, -2) : wide.clone();
  });
}

export class RandomCrop implements Transform {
  readonly size: readonly [number, number];
  readonly padding: Sides;
  readonly padIfNeeded: boolean;
  readonly fill: number;
  private readonly rng: Random;

  constructor(size: number | readonly [number, number], options: RandomCropOptions = {}) {
    const s = typeof size === 'number' ? ([size, size] as const) : size;
    if (s.some((v) => !Number.isSafeInteger(v) || v < 1))
      throw new Error(`RandomCrop: size must be positive integers (got ${JSON.stringify(size)})`);
    this.size = [s[0], s[1]];
    this.padding = sides(options.padding);
    this.padIfNeeded = options.padIfNeeded ?? false;
    this.fill = options.fill ?? 0;
    this.rng = transformRandom(options);
  }

  apply(x: Tensor): Tensor {
    const [th, tw] = this.size;
    const [h0, w0] = imageSize('RandomCrop', x);
    const pad: Sides = [...this.padding];
    let h = h0 + pad[1] + pad[3];
    let w = w0 + pad[0] + pad[2];
    if (this.padIfNeeded) {
      // torchvision pads both sides of a short dimension by the missing amount.
      if (w < tw) {
        pad[0] += tw - w;
        pad[2] += tw - w;
        w += 2 * (tw - w);
      }
      if (h < th) {
        pad[1] += th - h;
        pad[3] += th - h;
        h += 2 * (th - h);
      }
    }
    if (h < th || w < tw) {
      throw new Error(
        `RandomCrop: required crop size (${th}, ${tw}) is larger than input image size (${h}, ${w})`,
      );
    }
    const top = this.rng.int(h - th + 1);
    const left = this.rng.int(w - tw + 1);
    return k.tidy(() => {
      const padded = pad.some((p) => p > 0) ? padImage(x, pad, this.fill) : x;
      return padded.narrow(-2, top, th).narrow(-1, left, tw).contiguous();
    });
  }
}
