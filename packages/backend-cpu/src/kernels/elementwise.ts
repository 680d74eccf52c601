// Elementwise kernels: unary, binary, where, fill and the strided copy that also casts dtypes.
// Each (op, dtype) gets its own copy of the row loop (specialize.ts), so the JIT sees one
// monomorphic, inlinable callback per loop.
import type { BinaryOp, DType, KernelTensor, UnaryOp } from '@kiln/core';
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '@kiln/core';
import { arrayOf, type CpuArray } from '../buffer.js';
import {
  erf,
  gelu,
  geluBackward,
  geluTanh,
  geluTanhBackward,
  remainder,
  roundHalfEven,
  sigmoid,
} from './math.js';
import { specialize } from './specialize.js';
import { forEachRow } from './strided.js';

type Fn1 = (x: number) => number;
type Fn2 = (a: number, b: number) => number;

const UNARY: Record<UnaryOp, Fn1> = {
  neg: (x) => -x,
  abs: Math.abs,
  exp: Math.exp,
  expm1: Math.expm1,
  log: Math.log,
  log1p: Math.log1p,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => Math.max(x, 0),
  gelu,
  geluTanh,
  silu: (x) => x * sigmoid(x),
  erf,
  // torch.sign is (0 < x) - (x < 0): NaN gives 0.
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  floor: Math.floor,
  ceil: Math.ceil,
  round: roundHalfEven,
  trunc: Math.trunc,
  reciprocal: (x) => 1 / x,
  logicalNot: (x) => (x ? 0 : 1),
  isnan: (x) => (x !== x ? 1 : 0),
};

const BINARY: Record<BinaryOp, Fn2> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: Math.max, // NaN propagates, as in PyTorch
  minimum: Math.min,
  remainder,
  floorDivide: (a, b) => Math.floor(a / b),
  atan2: Math.atan2,
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
  logicalAnd: (a, b) => (a && b ? 1 : 0),
  logicalOr: (a, b) => (a || b ? 1 : 0),
  logicalXor: (a, b) => (!a !== !b ? 1 : 0),
  geluBackward,
  geluTanhBackward,
  reluBackward: (g, y) => (y > 0 ? g : 0),
};

// int32 products must wrap like C, not round through doubles.
const INT32_BINARY: Partial<Record<BinaryOp, Fn2>> = { mul: Math.imul };

type Row1 = (x: CpuArray, ix: number, sx: number, o: CpuArray, io: number, so: number, n: number) => void;
type Row2 = (
  a: CpuArray,
  ia: number,
  sa: number,
  b: CpuArray,
  ib: number,
  sb: number,
  o: CpuArray,
  io: number,
  so: number,
  n: number,
) => void;

function makeRow1(f: Fn1): Row1 {
  return (x, ix, sx, o, io, so, n) => {
    if (sx === 1 && so === 1) {
      for (let e = 0; e < n; e++) o[io + e] = f(x[ix + e]);
      return;
    }
    for (let e = 0; e < n; e++, ix += sx, io += so) o[io] = f(x[ix]);
  };
}

function makeRow2(f: Fn2): Row2 {
  return (a, ia, sa, b, ib, sb, o, io, so, n) => {
    if (sa === 1 && sb === 1 && so === 1) {
      for (let e = 0; e < n; e++) o[io + e] = f(a[ia + e], b[ib + e]);
      return;
    }
    if (sa === 1 && sb === 0 && so === 1) {
      const bv = b[ib];
      for (let e = 0; e < n; e++) o[io + e] = f(a[ia + e], bv);
      return;
    }
    if (sa === 0 && sb === 1 && so === 1) {
      const av = a[ia];
      for (let e = 0; e < n; e++) o[io + e] = f(av, b[ib + e]);
      return;
    }
    for (let e = 0; e < n; e++, ia += sa, ib += sb, io += so) o[io] = f(a[ia], b[ib]);
  };
}

export function unary(op: UnaryOp, x: KernelTensor, out: KernelTensor): void {
  const row = specialize(`unary:${op}:${x.dtype}:${out.dtype}`, makeRow1, UNARY[op]);
  const xa = arrayOf(x.buffer);
  const oa = arrayOf(out.buffer);
  forEachRow(out.shape, [x, out], (off, n, s) => row(xa, off[0], s[0], oa, off[1], s[1], n));
}

export function binary(op: BinaryOp, a: KernelTensor, b: KernelTensor, out: KernelTensor): void {
  const f = (a.dtype === 'int32' ? INT32_BINARY[op] : undefined) ?? BINARY[op];
  const row = specialize(`binary:${op}:${a.dtype}:${out.dtype}`, makeRow2, f);
  const aa = arrayOf(a.buffer);
  const ba = arrayOf(b.buffer);
  const oa = arrayOf(out.buffer);
  forEachRow(out.shape, [a, b, out], (off, n, s) =>
    row(aa, off[0], s[0], ba, off[1], s[1], oa, off[2], s[2], n),
  );
}

export function where(cond: KernelTensor, a: KernelTensor, b: KernelTensor, out: KernelTensor): void {
  const ca = arrayOf(cond.buffer);
  const aa = arrayOf(a.buffer);
  const ba = arrayOf(b.buffer);
  const oa = arrayOf(out.buffer);
  forEachRow(out.shape, [cond, a, b, out], (off, n, s) => {
    let ic = off[0];
    let ia = off[1];
    let ib = off[2];
    let io = off[3];
    for (let e = 0; e < n; e++, ic += s[0], ia += s[1], ib += s[2], io += s[3])
      oa[io] = ca[ic] ? aa[ia] : ba[ib];
  });
}

/** How a stored value of `dtype` becomes a JS number, and back. */
function decoderFor(dtype: DType): Fn1 | null {
  if (dtype === 'float16') return float16BitsToFloat32;
  if (dtype === 'bfloat16') return bfloat16BitsToFloat32;
  return null;
}

function encoderFor(dtype: DType): Fn1 | null {
  switch (dtype) {
    case 'float16':
      return float32ToFloat16Bits;
    case 'bfloat16':
      return float32ToBfloat16Bits;
    case 'bool':
      return (x) => (x ? 1 : 0);
    // Float -> integer conversion truncates toward zero, as C casts (and PyTorch) do.
    case 'int32':
    case 'int8':
    case 'uint8':
    case 'int64':
      return Math.trunc;
    default:
      return null;
  }
}

/** Strided copy; converts between dtypes when they differ. */
export function copy(src: KernelTensor, dst: KernelTensor): void {
  const sa = arrayOf(src.buffer);
  const da = arrayOf(dst.buffer);
  const same = src.dtype === dst.dtype || (isWide(src.dtype) && isWide(dst.dtype) && dst.dtype !== 'int64');
  const decode = same ? null : decoderFor(src.dtype);
  const encode = same ? null : encoderFor(dst.dtype);
  forEachRow(dst.shape, [src, dst], (off, n, s) => {
    let is = off[0];
    let id = off[1];
    if (s[0] === 1 && s[1] === 1 && !decode && !encode) {
      da.set(sa.subarray(is, is + n), id);
      return;
    }
    for (let e = 0; e < n; e++, is += s[0], id += s[1]) {
      let v = sa[is];
      if (decode) v = decode(v);
      da[id] = encode ? encode(v) : v;
    }
  });
}

/** Both plain float storages: a cast between them is a plain assignment. */
function isWide(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}

export function fill(dst: KernelTensor, value: number): void {
  const da = arrayOf(dst.buffer);
  const encode = encoderFor(dst.dtype);
  const v = encode ? encode(value) : value;
  forEachRow(dst.shape, [dst], (off, n, s) => {
    if (s[0] === 1) {
      da.fill(v, off[0], off[0] + n);
      return;
    }
    for (let e = 0, i = off[0]; e < n; e++, i += s[0]) da[i] = v;
  });
}
