// @kiln/core on 'cpu' against PyTorch, op by op, forward and backward.
//
// The fixtures are written by scripts/fixtures/ops.py (torch 1.13, float64, seeded) into
// packages/core/test-fixtures/pytorch/ops/. Every case is run in several variants, named in brackets:
//   [k.fn]       the fixture's dtypes (float64 for floating inputs), `k.fn(...)` spelling;
//   [method]     the same with the tensor method, where one exists;
//   [float32]    float64 inputs cast to float32; float64 expectations become float32;
//   [strided]    every input is every other element of a bigger buffer, at offset 1, with NaN (or
//                99) in the gaps, to prove that kernels honour strides and offsets;
//   [transposed] inputs of rank >= 2 live in memory with their dims reversed (a permuted view).
// Test names read "<op> > <case> [<variant>]".
// Gradients: every floating input that requires grad is differentiated with k.grad() for the
// fixture's fixed random upstream gradient; a null (unused) gradient counts as zeros.
//
// Tolerances, |got - expected| <= rtol * |expected| + atol:
//   float64 results: rtol 1e-9, atol 1e-12 (a case may widen rtol, noted in the fixture as `tol`);
//   float32 results: rtol 1e-4, atol 1e-5 (expected values are float64 results from float64 inputs).
// Integer and bool results must match exactly; NaN must be NaN and infinities equal.
//
// Dtype mapping (Kiln's default integer is int32, PyTorch's int64; see ARCHITECTURE.md "dtypes"):
//   - torch needs int64 index tensors; Kiln is given the same indices as int32;
//   - a result torch makes int64 only because int64 is its default (integer Python scalars, sums and
//     products of integer or bool tensors, argmax/sort/topk indices, arange/full/tensor of ints) is
//     expected as int32. The generator writes the mapped dtype; an int64 result is kept int64 when an
//     input is an explicit int64 tensor, and the promotion table below applies the same rule.
//   - torch promotes uint8 with int8 to int16; Kiln has no int16 and uses int32 (dtype/dtype.ts).
// JS cannot tell 2.0 from 2, so a JS number with an integral value is always an *integer* scalar;
// the fixtures use non-integral float scalars (2.5) wherever a float scalar is meant.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import './index.js';
import type { DType, NestedNumbers, Tensor, TensorOrScalar, ValuesIndices } from '@kiln/core';
import * as k from '@kiln/core';

// ------------------------------------------------------------------------------------------ fixtures

type Encoded = number | 'nan' | 'inf' | '-inf';

interface TensorSpec {
  shape: number[];
  dtype: string;
  values?: Encoded[];
  grad?: boolean;
  layout?: 'transposed';
}

interface Args {
  dim?: number | number[];
  keepdim?: boolean;
  correction?: number;
  p?: number;
  shape?: number[];
  start?: number;
  end?: number;
  step?: number;
  index?: number;
  length?: number;
  dims?: number | number[];
  dim0?: number;
  dim1?: number;
  split?: number | number[];
  chunks?: number;
  sizes?: number[];
  scalar?: number | boolean;
  side?: 'left';
  alpha?: number;
  approximate?: 'none' | 'tanh';
  min?: number;
  max?: number;
  value?: number | boolean;
  weight?: number;
  equation?: string;
  offset?: number;
  diagonal?: number;
  k?: number;
  largest?: boolean;
  descending?: boolean;
  n?: number;
  m?: number;
  steps?: number;
  dtype?: DType;
  data?: NestedNumbers;
  /** In-place ops applied through a view of a clone: `select(dim, index)` or `narrow(dim, start, length)`. */
  select?: [number, number];
  narrow?: [number, number, number];
}

interface OpCase {
  op: string;
  name: string;
  args: Args;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  upstream?: (Encoded[] | null)[];
  grads?: (Encoded[] | null)[];
  sweep?: false;
  strided?: false;
  tol?: number;
}

interface ErrorCase {
  op: string;
  name: string;
  args: Args;
  inputs: TensorSpec[];
  torch: string;
}

interface Fixture<C> {
  torch: string;
  cases: C[];
}

const FIXTURE_DIR = fileURLToPath(new URL('../../core/test-fixtures/pytorch/ops/', import.meta.url));

function load<T>(name: string): T {
  return JSON.parse(readFileSync(`${FIXTURE_DIR}${name}.json`, 'utf8')) as T;
}

function decode(v: Encoded): number {
  if (v === 'nan') return Number.NaN;
  if (v === 'inf') return Number.POSITIVE_INFINITY;
  if (v === '-inf') return Number.NEGATIVE_INFINITY;
  return v;
}

/** Args may carry norm's p = inf as a string. */
function decodeArgs(a: Args): Args {
  const out: Args = { ...a };
  if (typeof out.p === 'string') out.p = decode(out.p as Encoded);
  return out;
}

// ------------------------------------------------------------------------------------------ the op table

type Result = Tensor | Tensor[] | ValuesIndices;
type Impl = (x: Tensor[], a: Args) => Result;

interface OpImpl {
  /** The `k.fn(...)` spelling (or the only one, for methods-only ops like `.T`). */
  fn: Impl;
  /** The tensor-method spelling, where it exists and differs. */
  method?: Impl;
}

const opts = (a: Args) => (a.dtype ? { dtype: a.dtype } : undefined);
const dimNum = (a: Args) => a.dim as number | undefined;

/** The two operands of a binary op: tensors, or a tensor and a scalar on either side. */
function operands(x: Tensor[], a: Args): [TensorOrScalar, TensorOrScalar] {
  if (a.scalar === undefined) return [x[0], x[1]];
  return a.side === 'left' ? [a.scalar, x[0]] : [x[0], a.scalar];
}

type BinaryFn = (l: TensorOrScalar, r: TensorOrScalar) => Tensor;
type BinaryMethod = (this: Tensor, r: TensorOrScalar) => Tensor;

function binary(fn: BinaryFn, method: BinaryMethod): OpImpl {
  return {
    fn: (x, a) => fn(...operands(x, a)),
    method: (x, a) => {
      const [l, r] = operands(x, a);
      // A scalar on the left has no method spelling; the function is the only one.
      return typeof l === 'object' ? method.call(l, r) : fn(l, r);
    },
  };
}

function withAlpha(
  fn: (l: TensorOrScalar, r: TensorOrScalar, alpha?: number) => Tensor,
  method: (this: Tensor, r: TensorOrScalar, alpha?: number) => Tensor,
): OpImpl {
  return {
    fn: (x, a) => fn(...operands(x, a), a.alpha),
    method: (x, a) => {
      const [l, r] = operands(x, a);
      return typeof l === 'object' ? method.call(l, r, a.alpha) : fn(l, r, a.alpha);
    },
  };
}

function unary(fn: (t: Tensor) => Tensor, method: (this: Tensor) => Tensor): OpImpl {
  return { fn: (x) => fn(x[0]), method: (x) => method.call(x[0]) };
}

const T = k.Tensor.prototype;

const OPS: Record<string, OpImpl> = {
  // creation
  arange: {
    fn: (_, a) => {
      if (a.start === undefined) return a.dtype ? k.arange(0, a.end, 1, opts(a)) : k.arange(a.end!);
      return k.arange(a.start, a.end, a.step ?? 1, opts(a));
    },
  },
  linspace: { fn: (_, a) => k.linspace(a.start!, a.end!, a.steps!, opts(a)) },
  eye: { fn: (_, a) => (a.m === undefined && !a.dtype ? k.eye(a.n!) : k.eye(a.n!, a.m ?? a.n, opts(a))) },
  full: { fn: (_, a) => k.full(a.shape!, a.value!, opts(a)) },
  zeros: { fn: (_, a) => k.zeros(a.shape!, opts(a)) },
  ones: { fn: (_, a) => k.ones(a.shape!, opts(a)) },
  empty: { fn: (_, a) => k.empty(a.shape!, opts(a)) },
  tensor: { fn: (_, a) => k.tensor(a.data!, opts(a)) },
  zerosLike: { fn: (x) => k.zerosLike(x[0]) },
  onesLike: { fn: (x) => k.onesLike(x[0]) },
  fullLike: { fn: (x, a) => k.fullLike(x[0], a.value as number) },

  // views and shape
  reshape: { fn: (x, a) => k.reshape(x[0], a.shape!), method: (x, a) => x[0].reshape(...a.shape!) },
  view: { fn: (x, a) => k.view(x[0], a.shape!), method: (x, a) => x[0].view(...a.shape!) },
  flatten: { fn: (x, a) => k.flatten(x[0], a.start, a.end), method: (x, a) => x[0].flatten(a.start, a.end) },
  squeeze: { fn: (x, a) => k.squeeze(x[0], a.dim), method: (x, a) => x[0].squeeze(a.dim) },
  unsqueeze: {
    fn: (x, a) => k.unsqueeze(x[0], a.dim as number),
    method: (x, a) => x[0].unsqueeze(a.dim as number),
  },
  permute: {
    fn: (x, a) => k.permute(x[0], a.dims as number[]),
    method: (x, a) => x[0].permute(...(a.dims as number[])),
  },
  transpose: {
    fn: (x, a) => k.transpose(x[0], a.dim0!, a.dim1!),
    method: (x, a) => x[0].transpose(a.dim0!, a.dim1!),
  },
  T: { fn: (x) => x[0].T },
  expand: { fn: (x, a) => k.expand(x[0], a.shape!), method: (x, a) => x[0].expand(...a.shape!) },
  contiguous: { fn: (x) => k.contiguous(x[0]), method: (x) => x[0].contiguous() },
  clone: { fn: (x) => k.clone(x[0]), method: (x) => x[0].clone() },
  detach: { fn: (x) => x[0].detach() },
  slice: {
    fn: (x, a) => k.slice(x[0], a.dim as number, a.start!, a.end, a.step),
    method: (x, a) => x[0].slice(a.dim as number, a.start!, a.end, a.step),
  },
  select: {
    fn: (x, a) => k.select(x[0], a.dim as number, a.index!),
    method: (x, a) => x[0].select(a.dim as number, a.index!),
  },
  narrow: {
    fn: (x, a) => k.narrow(x[0], a.dim as number, a.start!, a.length!),
    method: (x, a) => x[0].narrow(a.dim as number, a.start!, a.length!),
  },
  cat: { fn: (x, a) => k.cat(x, dimNum(a)) },
  stack: { fn: (x, a) => k.stack(x, dimNum(a)) },
  split: {
    fn: (x, a) => k.split(x[0], a.split!, dimNum(a)),
    method: (x, a) => x[0].split(a.split!, dimNum(a)),
  },
  chunk: {
    fn: (x, a) => k.chunk(x[0], a.chunks!, dimNum(a)),
    method: (x, a) => x[0].chunk(a.chunks!, dimNum(a)),
  },
  unbind: { fn: (x, a) => k.unbind(x[0], dimNum(a)), method: (x, a) => x[0].unbind(dimNum(a)) },
  repeat: { fn: (x, a) => k.repeat(x[0], a.sizes!), method: (x, a) => x[0].repeat(...a.sizes!) },
  flip: { fn: (x, a) => k.flip(x[0], a.dims!), method: (x, a) => x[0].flip(a.dims!) },

  // elementwise, binary
  add: withAlpha(k.add, T.add),
  sub: withAlpha(k.sub, T.sub),
  mul: binary(k.mul, T.mul),
  div: binary(k.div, T.div),
  pow: binary(k.pow, T.pow),
  maximum: binary(k.maximum, T.maximum),
  minimum: binary(k.minimum, T.minimum),
  remainder: binary(k.remainder, T.remainder),
  floorDivide: binary(k.floorDivide, T.floorDivide),
  atan2: binary(k.atan2, T.atan2),
  eq: binary(k.eq, T.eq),
  ne: binary(k.ne, T.ne),
  lt: binary(k.lt, T.lt),
  le: binary(k.le, T.le),
  gt: binary(k.gt, T.gt),
  ge: binary(k.ge, T.ge),
  logicalAnd: binary(k.logicalAnd, T.logicalAnd),
  logicalOr: binary(k.logicalOr, T.logicalOr),
  logicalXor: binary(k.logicalXor, T.logicalXor),

  // elementwise, unary
  neg: unary(k.neg, T.neg),
  abs: unary(k.abs, T.abs),
  exp: unary(k.exp, T.exp),
  expm1: unary(k.expm1, T.expm1),
  log: unary(k.log, T.log),
  log1p: unary(k.log1p, T.log1p),
  sqrt: unary(k.sqrt, T.sqrt),
  rsqrt: unary(k.rsqrt, T.rsqrt),
  square: unary(k.square, T.square),
  sin: unary(k.sin, T.sin),
  cos: unary(k.cos, T.cos),
  tanh: unary(k.tanh, T.tanh),
  sigmoid: unary(k.sigmoid, T.sigmoid),
  relu: unary(k.relu, T.relu),
  silu: unary(k.silu, T.silu),
  erf: unary(k.erf, T.erf),
  sign: unary(k.sign, T.sign),
  floor: unary(k.floor, T.floor),
  ceil: unary(k.ceil, T.ceil),
  round: unary(k.round, T.round),
  trunc: unary(k.trunc, T.trunc),
  reciprocal: unary(k.reciprocal, T.reciprocal),
  logicalNot: unary(k.logicalNot, T.logicalNot),
  gelu: {
    fn: (x, a) => (a.approximate === undefined ? k.gelu(x[0]) : k.gelu(x[0], a.approximate)),
    method: (x, a) => (a.approximate === undefined ? x[0].gelu() : x[0].gelu(a.approximate)),
  },
  clamp: {
    fn: (x, a) => (x.length === 3 ? k.clamp(x[0], x[1], x[2]) : k.clamp(x[0], a.min, a.max)),
    method: (x, a) => (x.length === 3 ? x[0].clamp(x[1], x[2]) : x[0].clamp(a.min, a.max)),
  },
  where: {
    fn: (x, a) => {
      if (a.scalar === undefined) return k.where(x[0], x[1], x[2]);
      return a.side === 'left' ? k.where(x[0], a.scalar, x[1]) : k.where(x[0], x[1], a.scalar);
    },
    method: (x, a) => {
      if (a.scalar === undefined) return x[1].where(x[0], x[2]);
      return a.side === 'left' ? k.where(x[0], a.scalar, x[1]) : x[1].where(x[0], a.scalar);
    },
  },
  maskedFill: {
    fn: (x, a) => k.maskedFill(x[0], x[1], x.length === 3 ? x[2] : a.value!),
    method: (x, a) => x[0].maskedFill(x[1], x.length === 3 ? x[2] : a.value!),
  },
  lerp: { fn: (x, a) => k.lerp(x[0], x[1], a.weight!), method: (x, a) => x[0].lerp(x[1], a.weight!) },

  // in place, applied to a clone so that the inputs stay leaves (as the fixture does)
  add_: { fn: (x, a) => x[0].clone().add_(x[1], a.alpha) },
  sub_: { fn: (x, a) => x[0].clone().sub_(a.scalar!) },
  mul_: {
    fn: (x, a) => {
      if (!a.select) return x[0].clone().mul_(x[1]);
      const base = x[0].clone();
      base.select(...a.select).mul_(a.scalar!);
      return base;
    },
  },
  div_: { fn: (x) => x[0].clone().div_(x[1]) },
  clamp_: { fn: (x, a) => x[0].clone().clamp_(a.min, a.max) },
  zero_: { fn: (x) => x[0].clone().zero_() },
  fill_: { fn: (x, a) => x[0].clone().fill_(a.value as number) },
  copy_: {
    fn: (x, a) => {
      if (!a.narrow) return x[0].clone().copy_(x[1]);
      const base = x[0].clone();
      base.narrow(...a.narrow).copy_(x[1]);
      return base;
    },
  },

  // reductions
  sum: { fn: (x, a) => k.sum(x[0], a.dim, a.keepdim), method: (x, a) => x[0].sum(a.dim, a.keepdim) },
  mean: { fn: (x, a) => k.mean(x[0], a.dim, a.keepdim), method: (x, a) => x[0].mean(a.dim, a.keepdim) },
  var: {
    fn: (x, a) => k.var(x[0], a.dim, { correction: a.correction, keepdim: a.keepdim }),
    method: (x, a) => x[0].var(a.dim, { correction: a.correction, keepdim: a.keepdim }),
  },
  std: {
    fn: (x, a) => k.std(x[0], a.dim, { correction: a.correction, keepdim: a.keepdim }),
    method: (x, a) => x[0].std(a.dim, { correction: a.correction, keepdim: a.keepdim }),
  },
  prod: {
    fn: (x, a) => k.prod(x[0], dimNum(a), a.keepdim),
    method: (x, a) => x[0].prod(dimNum(a), a.keepdim),
  },
  norm: {
    fn: (x, a) => k.norm(x[0], a.p, a.dim, a.keepdim),
    method: (x, a) => x[0].norm(a.p, a.dim, a.keepdim),
  },
  max: {
    fn: (x, a) => (a.dim === undefined ? k.max(x[0]) : k.max(x[0], a.dim as number, a.keepdim)),
    method: (x, a) => (a.dim === undefined ? x[0].max() : x[0].max(a.dim as number, a.keepdim)),
  },
  min: {
    fn: (x, a) => (a.dim === undefined ? k.min(x[0]) : k.min(x[0], a.dim as number, a.keepdim)),
    method: (x, a) => (a.dim === undefined ? x[0].min() : x[0].min(a.dim as number, a.keepdim)),
  },
  amax: { fn: (x, a) => k.amax(x[0], a.dim, a.keepdim), method: (x, a) => x[0].amax(a.dim, a.keepdim) },
  amin: { fn: (x, a) => k.amin(x[0], a.dim, a.keepdim), method: (x, a) => x[0].amin(a.dim, a.keepdim) },
  argmax: {
    fn: (x, a) => k.argmax(x[0], dimNum(a), a.keepdim),
    method: (x, a) => x[0].argmax(dimNum(a), a.keepdim),
  },
  argmin: {
    fn: (x, a) => k.argmin(x[0], dimNum(a), a.keepdim),
    method: (x, a) => x[0].argmin(dimNum(a), a.keepdim),
  },
  logsumexp: {
    fn: (x, a) => k.logsumexp(x[0], a.dim!, a.keepdim),
    method: (x, a) => x[0].logsumexp(a.dim!, a.keepdim),
  },
  cumsum: { fn: (x, a) => k.cumsum(x[0], a.dim as number), method: (x, a) => x[0].cumsum(a.dim as number) },
  any: { fn: (x, a) => k.any(x[0], dimNum(a), a.keepdim), method: (x, a) => x[0].any(dimNum(a), a.keepdim) },
  all: { fn: (x, a) => k.all(x[0], dimNum(a), a.keepdim), method: (x, a) => x[0].all(dimNum(a), a.keepdim) },
  softmax: {
    fn: (x, a) => k.softmax(x[0], a.dim as number),
    method: (x, a) => x[0].softmax(a.dim as number),
  },
  logSoftmax: {
    fn: (x, a) => k.logSoftmax(x[0], a.dim as number),
    method: (x, a) => x[0].logSoftmax(a.dim as number),
  },

  // linear algebra
  matmul: { fn: (x) => k.matmul(x[0], x[1]), method: (x) => x[0].matmul(x[1]) },
  mm: { fn: (x) => k.mm(x[0], x[1]), method: (x) => x[0].mm(x[1]) },
  bmm: { fn: (x) => k.bmm(x[0], x[1]), method: (x) => x[0].bmm(x[1]) },
  dot: { fn: (x) => k.dot(x[0], x[1]), method: (x) => x[0].dot(x[1]) },
  outer: { fn: (x) => k.outer(x[0], x[1]), method: (x) => x[0].outer(x[1]) },
  einsum: { fn: (x, a) => k.einsum(a.equation!, ...x) },
  diag: { fn: (x, a) => k.diag(x[0], a.offset), method: (x, a) => x[0].diag(a.offset) },
  diagonal: { fn: (x, a) => k.diagonal(x[0], a.offset) },
  trace: { fn: (x) => k.trace(x[0]), method: (x) => x[0].trace() },
  tril: { fn: (x, a) => k.tril(x[0], a.diagonal), method: (x, a) => x[0].tril(a.diagonal) },
  triu: { fn: (x, a) => k.triu(x[0], a.diagonal), method: (x, a) => x[0].triu(a.diagonal) },

  // indexing
  gather: {
    fn: (x, a) => k.gather(x[0], a.dim as number, x[1]),
    method: (x, a) => x[0].gather(a.dim as number, x[1]),
  },
  scatterAdd: {
    fn: (x, a) => k.scatterAdd(x[0], a.dim as number, x[1], x[2]),
    method: (x, a) => x[0].scatterAdd(a.dim as number, x[1], x[2]),
  },
  indexSelect: {
    fn: (x, a) => k.indexSelect(x[0], a.dim as number, x[1]),
    method: (x, a) => x[0].indexSelect(a.dim as number, x[1]),
  },
  indexAdd: {
    fn: (x, a) => k.indexAdd(x[0], a.dim as number, x[1], x[2], a.alpha),
    method: (x, a) => x[0].indexAdd(a.dim as number, x[1], x[2], a.alpha),
  },
  topk: {
    fn: (x, a) => k.topk(x[0], a.k!, dimNum(a), a.largest),
    method: (x, a) => x[0].topk(a.k!, dimNum(a), a.largest),
  },
  sort: {
    fn: (x, a) => k.sort(x[0], dimNum(a), a.descending),
    method: (x, a) => x[0].sort(dimNum(a), a.descending),
  },
  argsort: { fn: (x, a) => x[0].argsort(dimNum(a), a.descending) },
};

function outputsOf(r: Result): Tensor[] {
  if (Array.isArray(r)) return r;
  if (r instanceof k.Tensor) return [r];
  return [r.values, r.indices];
}

// ------------------------------------------------------------------------------------------ building inputs

type Layout = 'contiguous' | 'strided' | 'transposed';

interface Variant {
  label: string;
  floatDtype: 'float64' | 'float32';
  layout: Layout;
  spelling: 'fn' | 'method';
}

const isFloatDtype = (d: string) => d === 'float32' || d === 'float64';

/** The dtype a fixture dtype becomes in a variant: float64 -> float32 in the float32 sweep; int16 -> int32. */
function variantDtype(dtype: string, v: Variant): DType {
  if (dtype === 'float64') return v.floatDtype;
  if (dtype === 'int16') return 'int32';
  return dtype as DType;
}

/** Row-major values of `shape` laid out with the dims reversed: element (i0..in) at (in..i0). */
function transposedBuffer(values: number[], shape: number[]): number[] {
  const rev = [...shape].reverse();
  const revStrides = k.contiguousStrides(rev).reverse();
  const out = new Array<number>(values.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < values.length; flat++) {
    let off = 0;
    for (let d = 0; d < shape.length; d++) off += idx[d] * revStrides[d];
    out[off] = values[flat];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

function buildTensor(spec: TensorSpec, dtype: DType, layout: Layout): Tensor {
  const values = spec.values!.map(decode);
  const shape = spec.shape;
  let t: Tensor;
  if (layout === 'strided') {
    // Every other element of a bigger buffer, starting at offset 1; the gaps hold garbage that
    // would show up in the result if a kernel ignored the strides or the offset.
    const gap = isFloatDtype(dtype) ? Number.NaN : dtype === 'bool' ? 1 : 99;
    const buf = new Float64Array(values.length * 2).fill(gap);
    values.forEach((v, i) => {
      buf[2 * i + 1] = v;
    });
    t = k
      .tensor(buf, { dtype })
      .reshape([...shape, 2])
      .select(-1, 1);
  } else if (layout === 'transposed' && shape.length >= 2) {
    const rev = shape.map((_, i) => shape.length - 1 - i);
    t = k
      .tensor(Float64Array.from(transposedBuffer(values, shape)), { dtype })
      .reshape([...shape].reverse())
      .permute(rev);
  } else {
    t = k.tensor(Float64Array.from(values), { dtype }).reshape(shape);
  }
  // Guard the variants' claim: such inputs really are non-contiguous (a transpose of a tensor with
  // fewer than two non-1 dims is contiguous by definition).
  const nonTrivialDims = shape.filter((d) => d > 1).length;
  if ((layout === 'strided' && nonTrivialDims >= 1) || (layout === 'transposed' && nonTrivialDims >= 2)) {
    expect(t.isContiguous(), `input of shape [${shape}] built ${layout}`).toBe(false);
  }
  if (spec.grad) t.requiresGrad_(true);
  return t;
}

function inputLayout(spec: TensorSpec, v: Variant): Layout {
  if (v.layout === 'contiguous') return spec.layout ?? 'contiguous';
  if (v.layout === 'transposed') return spec.shape.length >= 2 ? 'transposed' : (spec.layout ?? 'contiguous');
  return 'strided';
}

// ------------------------------------------------------------------------------------------ comparing

interface Tol {
  rtol: number;
  atol: number;
}

const F64: Tol = { rtol: 1e-9, atol: 1e-12 };
const F32: Tol = { rtol: 1e-4, atol: 1e-5 };

/** Worst error seen per result dtype, as |got - expected| / max(|expected|, 1), and where. */
const worst: Record<string, { err: number; where: string }> = {};

/** The case and variant being run, for the worst-error report. */
let current = '';

function note(dtype: string, err: number, where: string): void {
  if (!current) return;
  const w = worst[dtype];
  if (!w || err > w.err) worst[dtype] = { err, where };
}

function compareValues(what: string, got: number[], expected: number[], dtype: DType, tol: Tol): void {
  expect(got.length, `${what}: number of elements`).toBe(expected.length);
  if (!isFloatDtype(dtype)) {
    expect(got, `${what}: values`).toEqual(expected);
    return;
  }
  let bad = -1;
  let badExcess = 0;
  let maxErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const g = got[i];
    const e = expected[i];
    if (Number.isNaN(e) || Number.isNaN(g) || !Number.isFinite(e) || !Number.isFinite(g)) {
      if (!Object.is(g, e) && !(g === e) && !(Number.isNaN(g) && Number.isNaN(e))) {
        bad = i;
        badExcess = Number.POSITIVE_INFINITY;
      }
      continue;
    }
    const diff = Math.abs(g - e);
    maxErr = Math.max(maxErr, diff / Math.max(Math.abs(e), 1));
    const excess = diff - (tol.rtol * Math.abs(e) + tol.atol);
    if (excess > badExcess) {
      bad = i;
      badExcess = excess;
    }
  }
  note(dtype, maxErr, `${current}: ${what}`);
  if (bad >= 0) {
    expect.fail(
      `${what}: element ${bad} of ${expected.length} is ${got[bad]}, expected ${expected[bad]} ` +
        `(|diff| ${Math.abs(got[bad] - expected[bad]).toExponential(3)}, rtol ${tol.rtol}, atol ${tol.atol})`,
    );
  }
}

function compareTensor(what: string, got: Tensor, spec: TensorSpec, dtype: DType, tol: Tol): void {
  expect(got.shape, `${what}: shape`).toEqual(spec.shape);
  expect(got.dtype, `${what}: dtype`).toBe(dtype);
  if (!spec.values) return;
  compareValues(
    what,
    Array.from(got.dataSync() as ArrayLike<number | bigint>, Number),
    spec.values.map(decode),
    dtype,
    tol,
  );
}

function tolFor(dtype: DType, c: OpCase): Tol {
  if (dtype === 'float32') return F32;
  return c.tol === undefined ? F64 : { rtol: c.tol, atol: F64.atol };
}

// ------------------------------------------------------------------------------------------ running a case

function runCase(c: OpCase, v: Variant): void {
  const impl = OPS[c.op];
  if (!impl) throw new Error(`no Kiln implementation registered for fixture op '${c.op}'`);
  const args = decodeArgs(c.args);
  current = `${c.op}: ${c.name} [${v.label}]`;
  k.tidy(() => {
    const inputs = c.inputs.map((spec) =>
      buildTensor(spec, variantDtype(spec.dtype, v), inputLayout(spec, v)),
    );
    const call = v.spelling === 'method' && impl.method ? impl.method : impl.fn;
    const outs = outputsOf(call(inputs, args));
    expect(outs.length, 'number of outputs').toBe(c.outputs.length);
    outs.forEach((o, i) => {
      const dtype = variantDtype(c.outputs[i].dtype, v);
      compareTensor(`output ${i}`, o, c.outputs[i], dtype, tolFor(dtype, c));
    });
    if (!c.grads || !c.upstream) return;
    const diffOuts: Tensor[] = [];
    const gradOutputs: Tensor[] = [];
    c.upstream.forEach((u, i) => {
      if (u === null) return;
      diffOuts.push(outs[i]);
      const spec: TensorSpec = { shape: c.outputs[i].shape, dtype: c.outputs[i].dtype, values: u };
      gradOutputs.push(buildTensor(spec, variantDtype(spec.dtype, v), 'contiguous'));
    });
    const leaves = inputs.filter((_, i) => c.inputs[i].grad);
    const grads = k.grad(diffOuts, leaves, { gradOutputs, allowUnused: true });
    let j = 0;
    c.inputs.forEach((spec, i) => {
      const expected = c.grads![i];
      if (!spec.grad || expected === null) return;
      const dtype = variantDtype(spec.dtype, v);
      const g = grads[j++] ?? k.zeros(spec.shape, { dtype });
      compareTensor(
        `gradient of input ${i}`,
        g,
        { shape: spec.shape, dtype: spec.dtype, values: expected },
        dtype,
        tolFor(dtype, c),
      );
    });
  });
}

function variantsOf(c: OpCase): Variant[] {
  const out: Variant[] = [{ label: 'k.fn', floatDtype: 'float64', layout: 'contiguous', spelling: 'fn' }];
  const impl = OPS[c.op];
  if (impl?.method)
    out.push({ label: 'method', floatDtype: 'float64', layout: 'contiguous', spelling: 'method' });
  const hasFloat64 = c.inputs.some((s) => s.dtype === 'float64');
  if (c.sweep !== false && hasFloat64)
    out.push({ label: 'float32', floatDtype: 'float32', layout: 'contiguous', spelling: 'fn' });
  if (c.strided !== false && c.inputs.length > 0) {
    out.push({ label: 'strided', floatDtype: 'float64', layout: 'strided', spelling: 'fn' });
    if (c.inputs.some((s) => s.shape.length >= 2)) {
      out.push({ label: 'transposed', floatDtype: 'float64', layout: 'transposed', spelling: 'fn' });
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------ the suites

const GROUPS = ['creation', 'shape', 'elementwise', 'reduction', 'linalg', 'indexing', 'promotion'] as const;

for (const group of GROUPS) {
  const fixture = load<Fixture<OpCase>>(group);
  describe(`PyTorch ${fixture.torch} parity: ${group}`, () => {
    const ops = [...new Set(fixture.cases.map((c) => c.op))];
    describe.each(ops)('%s', (op) => {
      for (const c of fixture.cases.filter((x) => x.op === op)) {
        for (const v of variantsOf(c)) {
          it(`${c.name} [${v.label}]`, () => runCase(c, v));
        }
      }
    });
  });
}

/** What k.resultType takes: a tensor's dtype and rank, or a JS scalar. */
type PromotionOperand = { dtype: DType; ndim: number } | number | boolean;

interface PromotionTable {
  torch: string;
  promoteTypes: { a: DType; b: DType; torch: string }[];
  resultType: { operands: PromotionOperand[]; torch: string }[];
}

describe('PyTorch parity: type promotion', () => {
  const table = load<PromotionTable>('promotion-table');
  // int16 is torch's answer for uint8 with int8; Kiln has no int16 and widens to int32.
  const kilnOf = (d: string) => (d === 'int16' ? 'int32' : d);

  it.each(table.promoteTypes)('promoteTypes($a, $b) is torch.promote_types ($torch)', ({ a, b, torch }) => {
    expect(k.promoteTypes(a, b)).toBe(kilnOf(torch));
  });

  const describeOperand = (o: PromotionOperand) =>
    typeof o === 'object' ? `${o.ndim === 0 ? '0-d' : `${o.ndim}-d`} ${o.dtype}` : `${typeof o} ${String(o)}`;
  const rows = table.resultType.map((r) => ({
    ...r,
    label: r.operands.map(describeOperand).join(', '),
    // torch's int64 comes from its default integer unless an operand is an explicit int64 tensor.
    expected:
      r.torch === 'int64' && !r.operands.some((o) => typeof o === 'object' && o.dtype === 'int64')
        ? 'int32'
        : kilnOf(r.torch),
  }));
  it.each(rows)('resultType($label) is torch.result_type ($torch)', ({ operands, expected }) => {
    expect(k.resultType(operands)).toBe(expected);
  });
});

describe('PyTorch parity: errors (PyTorch raises, so must Kiln, naming the op)', () => {
  const fixture = load<Fixture<ErrorCase>>('errors');
  const ops = [...new Set(fixture.cases.map((c) => c.op))];
  describe.each(ops)('%s', (op) => {
    for (const c of fixture.cases.filter((x) => x.op === op)) {
      const test = () => {
        const args = decodeArgs(c.args);
        const run = () =>
          k.tidy(() => {
            const inputs = c.inputs.map((spec) =>
              buildTensor(spec, spec.dtype as DType, spec.layout ?? 'contiguous'),
            );
            OPS[c.op].fn(inputs, args);
          });
        expect(run, `torch: ${c.torch}`).toThrow(c.op);
      };
      it(`${c.name} (torch: ${c.torch})`, test);
    }
  });
});

afterAll(() => {
  const lines = Object.entries(worst).map(
    ([dtype, w]) =>
      `  ${dtype}: max |got - expected| / max(|expected|, 1) = ${w.err.toExponential(2)} (${w.where})`,
  );
  console.log(`PyTorch parity, worst errors within tolerance:\n${lines.join('\n')}`);
});
