// Reductions over dims (sum, mean, var, prod, norm, max/min, arg-reductions, logsumexp, cumsum,
// any/all). Output dtypes follow PyTorch, except that integer sums give int32, Kiln's default
// integer dtype (int64 inputs stay int64).
import { noGrad } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import type { ReduceOp } from '../backend/kernels.js';
import { backendOf, castTo, emptyTensor, requireCompute } from '../dispatch/dispatch.js';
import { DEFAULT_INT, type DType, isFloating } from '../dtype/dtype.js';
import { formatShape, normalizeDim, normalizeDims, numel } from '../shape/shape.js';
import { composite } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { abs, add, div, eq, exp, log, mul, pow, sign, sqrt, sub, where } from './elementwise.js';
import { gather } from './indexing.js';
import { expand, flip, reshape, squeeze } from './shape.js';

export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

export interface VarianceOptions {
  /** Bessel's correction: divide by N - correction (PyTorch's default 1). */
  correction?: number;
  keepdim?: boolean;
}

/** Shape with reduced dims kept as size 1. */
function keepdimShape(shape: readonly number[], dims: readonly number[]): number[] {
  return shape.map((s, i) => (dims.includes(i) ? 1 : s));
}

/** Runs a reduce kernel: `x` cast to `dtype`, output in keepdim layout, then squeezed if asked. */
function reduceForward(
  name: string,
  op: ReduceOp,
  x: Tensor,
  dims: readonly number[],
  keepdim: boolean,
  dtype: DType,
): Tensor {
  const backend = requireCompute(name, x.device, dtype);
  const xc = castTo(x, dtype);
  const kshape = keepdimShape(x.shape, dims);
  const out = emptyTensor(kshape, op === 'any' || op === 'all' ? 'bool' : dtype, x.device);
  backend.reduce(op, xc.kernel, dims, out.kernel);
  if (xc !== x) xc.dispose();
  if (keepdim) return out;
  const final = emptyViewSqueeze(out, dims);
  return final;
}

/** Drops the size-1 reduced dims of a fresh contiguous tensor (a view, so no copy). */
function emptyViewSqueeze(t: Tensor, dims: readonly number[]): Tensor {
  if (dims.length === 0) return t;
  const v = squeeze(t, dims);
  t.dispose();
  return v;
}

/** Gradient of a reduction, broadcast back to the input shape. */
function expandGrad(
  g: Tensor,
  inShape: readonly number[],
  dims: readonly number[],
  keepdim: boolean,
): Tensor {
  const k = keepdim ? g : reshape(g, keepdimShape(inShape, dims));
  return expand(k, inShape);
}

/** Sums `g` down to `shape` (the inverse of broadcasting). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.ndim === shape.length && g.shape.every((s, i) => s === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  }
  const s = sum(g, dims, true);
  return lead > 0 || s.ndim !== shape.length ? reshape(s, shape) : s;
}

function sumDtype(d: DType): DType {
  return isFloating(d) || d === 'int64' ? d : DEFAULT_INT;
}

export function sum(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  const dims = normalizeDims('sum', dim, x.ndim);
  const out = reduceForward('sum', 'sum', x, dims, keepdim, sumDtype(x.dtype));
  const inShape = x.shape;
  return record('SumBackward', out, [x], (g) => [expandGrad(g, inShape, dims, keepdim)]);
}

function requireFloating(op: string, x: Tensor): void {
  if (!isFloating(x.dtype)) {
    throw new TypeError(
      `${op}(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: ${x.dtype}`,
    );
  }
}

export function mean(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  requireFloating('mean', x);
  const dims = normalizeDims('mean', dim, x.ndim);
  const count = numel(dims.map((d) => x.shape[d]));
  const s = sum(x, dims, keepdim);
  const out = div(s, count);
  s.dispose();
  return out;
}

export function variance(x: Tensor, dim?: number | readonly number[], options: VarianceOptions = {}): Tensor {
  requireFloating('var', x);
  const correction = options.correction ?? 1;
  const dims = normalizeDims('var', dim, x.ndim);
  const count = numel(dims.map((d) => x.shape[d]));
  const m = mean(x, dims, true);
  const centered = sub(x, m);
  const sq = mul(centered, centered);
  const s = sum(sq, dims, options.keepdim ?? false);
  const out = div(s, Math.max(0, count - correction));
  for (const t of [m, centered, sq, s]) t.dispose();
  return out;
}

export function std(x: Tensor, dim?: number | readonly number[], options: VarianceOptions = {}): Tensor {
  return composite(() => stdImpl(x, dim, options));
}

function stdImpl(x: Tensor, dim?: number | readonly number[], options: VarianceOptions = {}): Tensor {
  const dims = normalizeDims('std', dim, x.ndim);
  const keepdim = options.keepdim ?? false;
  const correction = options.correction ?? 1;
  const out = noGrad(() => sqrt(variance(x, dims, options)));
  const count = numel(dims.map((d) => x.shape[d]));
  const inShape = x.shape;
  // d std / dx = (x - mean) / ((N - correction) * std), taken as 0 where std == 0 (as PyTorch does).
  return record(
    'StdBackward',
    out,
    [x],
    (g, [xs], sd) => {
      const scale = where(eq(sd!, 0), 0, div(g, mul(sd!, Math.max(0, count - correction))));
      return [mul(sub(xs, mean(xs, dims, true)), expandGrad(scale, inShape, dims, keepdim))];
    },
    { save: [x], saveOutput: true },
  );
}

/** prod: the gradient is the product of the other elements, computed without dividing by zero. */
export function prod(x: Tensor, dim?: number, keepdim = false): Tensor {
  const dims =
    dim === undefined ? normalizeDims('prod', undefined, x.ndim) : [normalizeDim('prod', dim, x.ndim)];
  const out = reduceForward('prod', 'prod', x, dims, keepdim, sumDtype(x.dtype));
  const inShape = x.shape;
  return record(
    'ProdBackward',
    out,
    [x],
    (g, [xs], result) => {
      const gk = expandGrad(g, inShape, dims, keepdim);
      const rk = expandGrad(result!, inShape, dims, keepdim);
      const isZero = eq(xs, 0);
      const zeros = sum(isZero, dims, true);
      const prodNonzero = prod(where(isZero, 1, xs), dims.length === 1 ? dims[0] : undefined, true);
      const atZero = where(
        eq(zeros, 1),
        expand(reshape(prodNonzero, keepdimShape(inShape, dims)), inShape),
        0,
      );
      return [mul(gk, where(isZero, atZero, div(rk, xs)))];
    },
    { save: [x], saveOutput: true },
  );
}

/** norm(p, dim): p-norm (2 by default, Infinity for max-abs); the 2-norm's gradient is 0 at 0. */
export function norm(x: Tensor, p = 2, dim?: number | readonly number[], keepdim = false): Tensor {
  return composite(() => normImpl(x, p, dim, keepdim));
}

function normImpl(x: Tensor, p = 2, dim?: number | readonly number[], keepdim = false): Tensor {
  requireFloating('norm', x);
  const dims = normalizeDims('norm', dim, x.ndim);
  if (p === Number.POSITIVE_INFINITY) return amax(abs(x), dims, keepdim);
  if (p === Number.NEGATIVE_INFINITY) return amin(abs(x), dims, keepdim);
  if (p === 1) return sum(abs(x), dims, keepdim);
  if (p === 2) {
    const sq = reduceForward('norm', 'sum', mulNoGrad(x), dims, keepdim, x.dtype);
    const out = sqrtNoGrad(sq);
    const inShape = x.shape;
    return record(
      'NormBackward',
      out,
      [x],
      (g, [xs], n) => {
        const scale = where(eq(n!, 0), 0, div(g, n!));
        return [mul(xs, expandGrad(scale, inShape, dims, keepdim))];
      },
      { save: [x], saveOutput: true },
    );
  }
  const out = noGrad(() => pow(sum(pow(abs(x), p), dims, keepdim), 1 / p));
  const inShape = x.shape;
  // d ||x||_p / dx = sign(x) |x|^(p-1) / ||x||_p^(p-1), taken as 0 where the norm is 0.
  return record(
    'NormBackward',
    out,
    [x],
    (g, [xs], n) => {
      const scale = where(eq(n!, 0), 0, div(g, pow(n!, p - 1)));
      return [mul(mul(sign(xs), pow(abs(xs), p - 1)), expandGrad(scale, inShape, dims, keepdim))];
    },
    { save: [x], saveOutput: true },
  );
}

function mulNoGrad(x: Tensor): Tensor {
  const backend = requireCompute('norm', x.device, x.dtype);
  const out = emptyTensor(x.shape, x.dtype, x.device);
  backend.binary('mul', x.kernel, x.kernel, out.kernel);
  return out;
}

function sqrtNoGrad(x: Tensor): Tensor {
  const out = emptyTensor(x.shape, x.dtype, x.device);
  backendOf(x).unary('sqrt', x.kernel, out.kernel);
  x.dispose();
  return out;
}

/** amax/amin: the gradient is shared evenly among tied extremes (PyTorch's rule). */
function extremeReduce(
  name: 'amax' | 'amin',
  x: Tensor,
  dim: number | readonly number[] | undefined,
  keepdim: boolean,
): Tensor {
  if (x.numel() === 0)
    throw new Error(
      `${name}(): Expected reduction dim to be specified for input.numel() == 0 (input ${formatShape(x.shape)})`,
    );
  const dims = normalizeDims(name, dim, x.ndim);
  const out = reduceForward(name, name === 'amax' ? 'max' : 'min', x, dims, keepdim, x.dtype);
  if (!isFloating(x.dtype)) return out;
  const inShape = x.shape;
  return record(
    name === 'amax' ? 'AmaxBackward' : 'AminBackward',
    out,
    [x],
    (g, [xs], result) => {
      const hits = eq(xs, expandGrad(result!, inShape, dims, keepdim));
      const count = sum(hits, dims, true);
      const share = div(expandGrad(g, inShape, dims, keepdim), expand(count, inShape));
      return [where(hits, share, 0)];
    },
    { save: [x], saveOutput: true },
  );
}

export function amax(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  return extremeReduce('amax', x, dim, keepdim);
}

export function amin(x: Tensor, dim?: number | readonly number[], keepdim = false): Tensor {
  return extremeReduce('amin', x, dim, keepdim);
}

/** `max()` over all elements: a 0-d tensor. */
export function maxAll(x: Tensor): Tensor {
  return extremeReduce('amax', x, undefined, false);
}

export function minAll(x: Tensor): Tensor {
  return extremeReduce('amin', x, undefined, false);
}

/** Arg-reduction along one dim: int32 indices of the first extreme value. */
function argReduce(name: 'argmax' | 'argmin', x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  if (dim === undefined) {
    const flat = reshape(x, [-1]);
    const out = argReduce(name, flat, 0, false);
    flat.dispose();
    if (!keepdim) return out;
    const r = reshape(
      out,
      x.shape.map(() => 1),
    );
    out.dispose();
    return r;
  }
  const d = normalizeDim(name, dim, x.ndim);
  if (x.ndim > 0 && x.shape[d] === 0)
    throw new Error(`${name}(): Expected reduction dim ${d} to have non-zero size.`);
  const backend = requireCompute(name, x.device, x.dtype);
  const out = emptyTensor(keepdimShape(x.shape, [d]), DEFAULT_INT, x.device);
  backend.argReduce(name, x.kernel, Math.min(d, Math.max(x.ndim - 1, 0)), out.kernel);
  return keepdim || x.ndim === 0 ? out : emptyViewSqueeze(out, [d]);
}

export function argmax(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argReduce('argmax', x, dim, keepdim);
}

export function argmin(x: Tensor, dim?: number, keepdim = false): Tensor {
  return argReduce('argmin', x, dim, keepdim);
}

/** max(dim): values and indices; values are gathered at the indices, so the gradient goes there. */
function extremeDim(name: 'argmax' | 'argmin', x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  const d = normalizeDim(name === 'argmax' ? 'max' : 'min', dim, x.ndim);
  const idx = argReduce(name, x, d, true);
  const vals = gather(x, d, idx);
  if (keepdim) return { values: vals, indices: idx };
  const values = squeeze(vals, d);
  const indices = squeeze(idx, d);
  vals.dispose();
  idx.dispose();
  return { values, indices };
}

export function maxDim(x: Tensor, dim: number, keepdim = false): ValuesIndices {
  return extremeDim('argmax', x, dim, keepdim);
}

export function minDim(x: Tensor, dim: number, keepdim = false): ValuesIndices {
  return extremeDim('argmin', x, dim, keepdim);
}

/** log(sum(exp(x))) along dims, stabilised by the max; gradient softmax(x) * g. */
export function logsumexp(x: Tensor, dim: number | readonly number[], keepdim = false): Tensor {
  requireFloating('logsumexp', x);
  const dims = normalizeDims('logsumexp', dim, x.ndim);
  const backend = backendOf(x);
  let out: Tensor;
  if (backend.fused.logsumexp && dims.length === 1) {
    out = emptyTensor(keepdimShape(x.shape, dims), x.dtype, x.device);
    backend.fused.logsumexp(x.kernel, dims[0], out.kernel);
    if (!keepdim) out = emptyViewSqueeze(out, dims);
  } else {
    out = noGrad(() => logsumexpComposite(x, dims, keepdim));
  }
  const inShape = x.shape;
  return record(
    'LogsumexpBackward',
    out,
    [x],
    (g, [xs], result) => [
      mul(expandGrad(g, inShape, dims, keepdim), exp(sub(xs, expandGrad(result!, inShape, dims, keepdim)))),
    ],
    { save: [x], saveOutput: true },
  );
}

function logsumexpComposite(x: Tensor, dims: readonly number[], keepdim: boolean): Tensor {
  const m = reduceForward('logsumexp', 'max', x, dims, true, x.dtype);
  // An all -inf slice has max -inf; shifting by 0 there keeps the result -inf instead of NaN.
  const absM = abs(m);
  const inf = eq(absM, Number.POSITIVE_INFINITY);
  const shift = where(inf, 0, m);
  const shifted = sub(x, shift);
  const e = exp(shifted);
  const s = reduceForward('logsumexp', 'sum', e, dims, true, x.dtype);
  const l = log(s);
  const r = add(l, shift);
  for (const t of [m, absM, inf, shift, shifted, e, s, l]) t.dispose();
  if (keepdim) return r;
  return emptyViewSqueeze(r, dims);
}

export function cumsum(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('cumsum', dim, x.ndim);
  const dtype = sumDtype(x.dtype);
  const backend = requireCompute('cumsum', x.device, dtype);
  const xc = castTo(x, dtype);
  const out = emptyTensor(x.shape, dtype, x.device);
  backend.cumsum(xc.kernel, Math.min(d, Math.max(x.ndim - 1, 0)), out.kernel);
  if (xc !== x) xc.dispose();
  // d(cumsum)/dx: reversed cumulative sum of the gradient.
  return record('CumsumBackward', out, [x], (g) => [flip(cumsum(flip(g, d), d), d)]);
}

export function any(x: Tensor, dim?: number, keepdim = false): Tensor {
  const dims =
    dim === undefined ? normalizeDims('any', undefined, x.ndim) : [normalizeDim('any', dim, x.ndim)];
  return reduceForward('any', 'any', x, dims, keepdim, x.dtype);
}

export function all(x: Tensor, dim?: number, keepdim = false): Tensor {
  const dims =
    dim === undefined ? normalizeDims('all', undefined, x.ndim) : [normalizeDim('all', dim, x.ndim)];
  return reduceForward('all', 'all', x, dims, keepdim, x.dtype);
}
