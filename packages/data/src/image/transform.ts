// Image transforms on tensors (torchvision.transforms spelling). Images are [..., C, H, W] (or
// [..., H, W]); transforms work with core ops only, so they run on any backend. A transform never
// disposes its input; it disposes its own intermediates.
import { isTensor, type Tensor } from '@kiln/core';
import { Random, type Seed } from '../random/pcg32.js';

export interface Transform<I = Tensor, O = Tensor> {
  apply(input: I): O;
}

type TransformLike<I, O> = Transform<I, O> | ((input: I) => O);

function run<I, O>(t: TransformLike<I, O>, x: I): O {
  return typeof t === 'function' ? t(x) : t.apply(x);
}

/** Applies transforms in order; intermediate tensors are disposed as soon as the next step has run. */
export class Compose<I = Tensor, O = Tensor> implements Transform<I, O> {
  readonly transforms: readonly TransformLike<unknown, unknown>[];

  constructor(transforms: readonly TransformLike<never, unknown>[]) {
    this.transforms = transforms as readonly TransformLike<unknown, unknown>[];
  }

  apply(input: I): O {
    let x: unknown = input;
    for (const t of this.transforms) {
      const y = run(t, x);
      // A transform may return its input unchanged (a flip that did not happen): keep it then.
      // A view of x stays valid after x's handle is disposed (storage is reference-counted).
      if (x !== input && y !== x && isTensor(x)) x.dispose();
      x = y;
    }
    return x as O;
  }
}

/** Options shared by random transforms. */
export interface RandomTransformOptions {
  /** Generator to draw from (share one across transforms to make a pipeline reproducible from one seed). */
  rng?: Random;
  /** Seed of a private generator (ignored with `rng`); default a random seed. */
  seed?: Seed;
}

export function transformRandom(options: RandomTransformOptions): Random {
  return options.rng ?? new Random(options.seed);
}

/** Height and width of an image tensor [..., H, W]. */
export function imageSize(op: string, x: Tensor): [h: number, w: number] {
  if (x.ndim < 2)
    throw new Error(`${op}: expected an image tensor [..., H, W], got shape [${x.shape.join(', ')}]`);
  return [x.shape[x.ndim - 2], x.shape[x.ndim - 1]];
}
