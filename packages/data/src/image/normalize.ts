// torchvision's Normalize: per channel, (x - mean[c]) / std[c].

import type { Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import type { Transform } from './transform.js';

export class Normalize implements Transform {
  readonly mean: readonly number[];
  readonly std: readonly number[];

  constructor(mean: readonly number[], std: readonly number[]) {
    if (mean.length === 0 || mean.length !== std.length) {
      throw new Error(
        `Normalize: mean and std need one value per channel each (got ${mean.length} and ${std.length})`,
      );
    }
    if (std.some((s) => Math.fround(s) === 0)) {
      throw new Error(
        `Normalize: std evaluated to zero after conversion to float32, leading to division by zero (std = [${std.join(', ')}])`,
      );
    }
    this.mean = [...mean];
    this.std = [...std];
  }

  /** x: float [..., C, H, W], C = the number of means (or any C when there is one mean). */
  apply(x: Tensor): Tensor {
    if (x.dtype !== 'float32' && x.dtype !== 'float64' && x.dtype !== 'float16' && x.dtype !== 'bfloat16') {
      throw new Error(`Normalize: input should be a float tensor (got ${x.dtype}; apply ToTensor first)`);
    }
    const c = this.mean.length;
    if (x.ndim < 3 || (c > 1 && x.shape[x.ndim - 3] !== c)) {
      throw new Error(
        `Normalize: expected [..., ${c}, H, W] to match ${c} channel means, got shape [${x.shape.join(', ')}]`,
      );
    }
    return k.tidy(() => {
      const opts = { dtype: x.dtype, device: x.device };
      const mean = k.tensor([...this.mean], opts).reshape(c, 1, 1);
      const std = k.tensor([...this.std], opts).reshape(c, 1, 1);
      return x.sub(mean).div(std);
    });
  }
}
