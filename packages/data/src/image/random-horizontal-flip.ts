// torchvision's RandomHorizontalFlip: mirror the width axis with probability p.
import type { Tensor } from '@kiln/core';
import type { Random } from '../random/pcg32.js';
import { imageSize, type RandomTransformOptions, type Transform, transformRandom } from './transform.js';

export class RandomHorizontalFlip implements Transform {
  readonly p: number;
  private readonly rng: Random;

  constructor(options: RandomTransformOptions & { p?: number } = {}) {
    this.p = options.p ?? 0.5;
    if (!(this.p >= 0 && this.p <= 1))
      throw new RangeError(`RandomHorizontalFlip: p must be in [0, 1] (got ${this.p})`);
    this.rng = transformRandom(options);
  }

  /** The flipped image (a new tensor), or the input itself when the draw says no flip. */
  apply(x: Tensor): Tensor {
    imageSize('RandomHorizontalFlip', x);
    return this.rng.float() < this.p ? x.flip(-1) : x;
  }
}
