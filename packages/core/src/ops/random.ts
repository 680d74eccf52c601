// Random tensors from the counter-based generator. Each draw takes one Philox counter per element,
// so a backend can generate element i independently (one GPU thread each) and every backend agrees.
import { noGrad } from '../autograd/grad-mode.js';
import { backendFor } from '../backend/registry.js';
import { castTo, emptyTensor, requireCompute, resolveDevice } from '../dispatch/dispatch.js';
import { DEFAULT_FLOAT, DEFAULT_INT, type DType, isFloating } from '../dtype/dtype.js';
import { nextDraw } from '../random/generator.js';
import { formatShape, numel } from '../shape/shape.js';
import { composite } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ShapeArg, TensorOptions } from './creation.js';
import { add, floor, log, lt, mul, neg } from './elementwise.js';
import { topk } from './indexing.js';
import { copy_ } from './inplace.js';
import { cumsum, sum } from './reduction.js';
import { unsqueeze } from './shape.js';

/** A fresh contiguous tensor of draws from `dist` in float32 (or float64), on `device`. */
function draw(dist: 'uniform' | 'normal', shape: readonly number[], dtype: DType, device: string): Tensor {
  const computeType = dtype === 'float64' ? 'float64' : DEFAULT_FLOAT;
  requireCompute(dist === 'uniform' ? 'rand' : 'randn', device, computeType);
  const out = emptyTensor(shape, computeType, device);
  const { key, offset } = nextDraw(numel(shape));
  backendFor(device).random(dist, key, offset, out.kernel);
  if (computeType === dtype) return out;
  const cast = castTo(out, dtype);
  out.dispose();
  return cast;
}

function shapeOf(shape: ShapeArg): number[] {
  return typeof shape === 'number' ? [shape] : [...shape];
}

function withGrad(t: Tensor, opts?: TensorOptions): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

/** Uniform on [0, 1). */
export function rand(shape: ShapeArg, opts?: TensorOptions): Tensor {
  return withGrad(
    draw('uniform', shapeOf(shape), opts?.dtype ?? DEFAULT_FLOAT, resolveDevice(opts?.device)),
    opts,
  );
}

/** Standard normal. */
export function randn(shape: ShapeArg, opts?: TensorOptions): Tensor {
  return withGrad(
    draw('normal', shapeOf(shape), opts?.dtype ?? DEFAULT_FLOAT, resolveDevice(opts?.device)),
    opts,
  );
}

export function randLike(t: Tensor, opts?: TensorOptions): Tensor {
  return rand(t.shape, {
    dtype: opts?.dtype ?? t.dtype,
    device: opts?.device ?? t.device,
    requiresGrad: opts?.requiresGrad,
  });
}

export function randnLike(t: Tensor, opts?: TensorOptions): Tensor {
  return randn(t.shape, {
    dtype: opts?.dtype ?? t.dtype,
    device: opts?.device ?? t.device,
    requiresGrad: opts?.requiresGrad,
  });
}

/** Integers uniform in [low, high), int32 by default. */
export function randint(low: number, high: number, shape: ShapeArg, opts?: TensorOptions): Tensor {
  if (!(high > low)) throw new RangeError(`randint: expected low < high, got low=${low}, high=${high}`);
  const device = resolveDevice(opts?.device);
  return noGrad(() =>
    composite(() => {
      const u = draw('uniform', shapeOf(shape), 'float32', device);
      return castTo(floor(add(mul(u, high - low), low)), opts?.dtype ?? DEFAULT_INT);
    }),
  );
}

/** Writes freshly drawn values into `self` in place (the random fills nn.init uses); temporaries are disposed. */
function fillFrom<T extends Tensor>(self: T, make: () => Tensor): T {
  const values = noGrad(() => composite(make));
  noGrad(() => copy_(self, values));
  values.dispose();
  return self;
}

function requireFloatingSelf(op: string, t: Tensor): void {
  if (!isFloating(t.dtype)) throw new TypeError(`${op}: expected a floating point tensor, got ${t.dtype}`);
}

export function uniform_<T extends Tensor>(self: T, low = 0, high = 1): T {
  requireFloatingSelf('uniform_', self);
  return fillFrom(self, () =>
    add(mul(draw('uniform', self.shape, self.dtype, self.device), high - low), low),
  );
}

export function normal_<T extends Tensor>(self: T, mean = 0, std = 1): T {
  requireFloatingSelf('normal_', self);
  return fillFrom(self, () => add(mul(draw('normal', self.shape, self.dtype, self.device), std), mean));
}

/** Fills with 1 with probability p, else 0. */
export function bernoulli_<T extends Tensor>(self: T, p = 0.5): T {
  if (p < 0 || p > 1) throw new RangeError(`bernoulli_: expected 0 <= p <= 1, got ${p}`);
  return fillFrom(self, () => lt(draw('uniform', self.shape, 'float32', self.device), p));
}

/**
 * Samples category indices from rows of (unnormalised) probabilities. With replacement: inverse-CDF
 * sampling; without: the Gumbel-top-k trick, which draws exactly as sequential sampling would.
 */
export function multinomial(probs: Tensor, numSamples: number, replacement = false): Tensor {
  return composite(() => multinomialImpl(probs, numSamples, replacement));
}

function multinomialImpl(probs: Tensor, numSamples: number, replacement = false): Tensor {
  if (probs.ndim !== 1 && probs.ndim !== 2)
    throw new Error(`multinomial: prob_dist must be 1 or 2 dim (got ${formatShape(probs.shape)})`);
  const categories = probs.shape[probs.ndim - 1];
  if (!replacement && numSamples > categories) {
    throw new Error(
      `multinomial: cannot sample numSamples=${numSamples} > prob_dist.size(-1)=${categories} samples without replacement`,
    );
  }
  return noGrad(() => {
    const p = probs.ndim === 1 ? unsqueeze(probs, 0) : probs;
    const rows = p.shape[0];
    let out: Tensor;
    if (replacement) {
      const cdf = cumsum(p, -1);
      const total = cdf.slice(-1, categories - 1);
      const u = mul(draw('uniform', [rows, numSamples], p.dtype, p.device), total);
      // index = number of cdf entries <= u
      const below = lt(unsqueeze(cdf, 1), unsqueeze(u, 2));
      const count = sum(below, -1);
      out = count.clamp(0, categories - 1);
    } else {
      const u = draw('uniform', [rows, categories], p.dtype, p.device);
      // Gumbel noise -log(-log(u)); u = 0 maps to -inf noise, never chosen.
      const keys = add(log(p), neg(log(neg(log(u)))));
      out = topk(keys, numSamples, -1).indices;
    }
    return probs.ndim === 1 ? out.reshape([numSamples]) : out;
  });
}
