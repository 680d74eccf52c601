// Elementwise kernels from one template: every op is a WGSL expression over loaded operand values,
// and one generator wraps it with strided index math (operands coalesced, shapes and strides in the
// uniform block), so a pipeline is shared by every tensor of the same rank, dtypes and op.
import type { BinaryOp, DType, KernelTensor, UnaryOp } from '@kiln/core';
import { numel } from '@kiln/core';
import { type GpuBuffer, grid, type Runtime } from '../runtime.js';
import {
  binding,
  entry,
  FLOAT_PRELUDE,
  INT_PRELUDE,
  layoutOf,
  Params,
  stridedOffsets,
  type Word,
  wordOf,
} from '../wgsl.js';

/** An expression's WGSL type: a stored word or a boolean. */
type ValueType = Word | 'bool';
type Expr = [code: string, type: ValueType];

const UNARY_F32: Record<UnaryOp, (x: string) => Expr> = {
  neg: (x) => [`-${x}`, 'f32'],
  abs: (x) => [`abs(${x})`, 'f32'],
  exp: (x) => [`exp(${x})`, 'f32'],
  expm1: (x) => [`expm1_(${x})`, 'f32'],
  log: (x) => [`log(${x})`, 'f32'],
  log1p: (x) => [`log1p_(${x})`, 'f32'],
  sqrt: (x) => [`sqrt(${x})`, 'f32'],
  rsqrt: (x) => [`(1.0 / sqrt(${x}))`, 'f32'],
  sin: (x) => [`sin_(${x})`, 'f32'],
  cos: (x) => [`cos_(${x})`, 'f32'],
  tanh: (x) => [`tanh_(${x})`, 'f32'],
  sigmoid: (x) => [`sigmoid_(${x})`, 'f32'],
  relu: (x) => [`select(${x}, 0.0, ${x} < 0.0)`, 'f32'],
  gelu: (x) => [`(0.5 * ${x} * (1.0 + erf_(${x} * 0.7071067811865476)))`, 'f32'],
  geluTanh: (x) => [
    `(0.5 * ${x} * (1.0 + tanh_(0.7978845608028654 * (${x} + 0.044715 * ${x} * ${x} * ${x}))))`,
    'f32',
  ],
  silu: (x) => [`(${x} * sigmoid_(${x}))`, 'f32'],
  erf: (x) => [`erf_(${x})`, 'f32'],
  sign: (x) => [`sign_(${x})`, 'f32'],
  floor: (x) => [`floor(${x})`, 'f32'],
  ceil: (x) => [`ceil(${x})`, 'f32'],
  round: (x) => [`round(${x})`, 'f32'],
  trunc: (x) => [`trunc(${x})`, 'f32'],
  reciprocal: (x) => [`(1.0 / ${x})`, 'f32'],
  logicalNot: (x) => [`(${x} == 0.0)`, 'bool'],
  isnan: (x) => [`isnan_(${x})`, 'bool'],
};

const UNARY_I32: Partial<Record<UnaryOp, (x: string) => Expr>> = {
  neg: (x) => [`-${x}`, 'i32'],
  abs: (x) => [`abs(${x})`, 'i32'],
  relu: (x) => [`max(${x}, 0)`, 'i32'],
  sign: (x) => [`sign(${x})`, 'i32'],
  floor: (x) => [x, 'i32'],
  ceil: (x) => [x, 'i32'],
  round: (x) => [x, 'i32'],
  trunc: (x) => [x, 'i32'],
  logicalNot: (x) => [`(${x} == 0)`, 'bool'],
  isnan: () => ['false', 'bool'],
};

const BINARY_F32: Record<BinaryOp, (a: string, b: string) => Expr> = {
  add: (a, b) => [`(${a} + ${b})`, 'f32'],
  sub: (a, b) => [`(${a} - ${b})`, 'f32'],
  mul: (a, b) => [`(${a} * ${b})`, 'f32'],
  div: (a, b) => [`(${a} / ${b})`, 'f32'],
  pow: (a, b) => [`pow_(${a}, ${b})`, 'f32'],
  maximum: (a, b) => [`max_(${a}, ${b})`, 'f32'],
  minimum: (a, b) => [`min_(${a}, ${b})`, 'f32'],
  remainder: (a, b) => [`remainder_(${a}, ${b})`, 'f32'],
  floorDivide: (a, b) => [`floor(${a} / ${b})`, 'f32'],
  atan2: (a, b) => [`atan2(${a}, ${b})`, 'f32'],
  eq: (a, b) => [`(${a} == ${b})`, 'bool'],
  ne: (a, b) => [`(${a} != ${b})`, 'bool'],
  lt: (a, b) => [`(${a} < ${b})`, 'bool'],
  le: (a, b) => [`(${a} <= ${b})`, 'bool'],
  gt: (a, b) => [`(${a} > ${b})`, 'bool'],
  ge: (a, b) => [`(${a} >= ${b})`, 'bool'],
  logicalAnd: (a, b) => [`((${a} != 0.0) && (${b} != 0.0))`, 'bool'],
  logicalOr: (a, b) => [`((${a} != 0.0) || (${b} != 0.0))`, 'bool'],
  logicalXor: (a, b) => [`((${a} != 0.0) != (${b} != 0.0))`, 'bool'],
  // g * (Phi(x) + x phi(x)). x phi(x) is 0 in f32 beyond |x| = 20, so clamping x there keeps
  // x = +-inf from giving inf * 0 = NaN (the limits are 1 and 0) while NaN still flows through erf_.
  geluBackward: (g, x) => [
    `(${g} * (0.5 * (1.0 + erf_(${x} * 0.7071067811865476)) + clamp(${x}, -20.0, 20.0) * 0.3989422804014327 * exp(-0.5 * ${x} * ${x})))`,
    'f32',
  ],
  // g * 0.5(1 + t)(1 + x(1 - t)u'), t = tanh(u), u = sqrt(2/pi)(x + 0.044715x^3): the usual
  // 0.5(1 + t) + 0.5x(1 - t^2)u' factored so that t is saturated (+-1) wherever |x| is clamped.
  geluTanhBackward: (g, x) => {
    const t = `tanh_(0.7978845608028654 * (${x} + 0.044715 * ${x} * ${x} * ${x}))`;
    const xc = `clamp(${x}, -20.0, 20.0)`;
    const du = `(0.7978845608028654 * (1.0 + 0.134145 * ${xc} * ${xc}))`;
    return [`(${g} * 0.5 * (1.0 + ${t}) * (1.0 + ${xc} * (1.0 - ${t}) * ${du}))`, 'f32'];
  },
  // NaN in y compares false: 0, as where(y > 0, g, 0).
  reluBackward: (g, y) => [`select(0.0, ${g}, ${y} > 0.0)`, 'f32'],
};

const BINARY_I32: Partial<Record<BinaryOp, (a: string, b: string) => Expr>> = {
  reluBackward: (g, y) => [`select(0, ${g}, ${y} > 0)`, 'i32'],
  add: (a, b) => [`(${a} + ${b})`, 'i32'],
  sub: (a, b) => [`(${a} - ${b})`, 'i32'],
  mul: (a, b) => [`(${a} * ${b})`, 'i32'],
  div: (a, b) => [`select(0, ${a} / ${b}, ${b} != 0)`, 'i32'],
  pow: (a, b) => [`ipow_(${a}, ${b})`, 'i32'],
  maximum: (a, b) => [`max(${a}, ${b})`, 'i32'],
  minimum: (a, b) => [`min(${a}, ${b})`, 'i32'],
  remainder: (a, b) => [`iremainder_(${a}, ${b})`, 'i32'],
  floorDivide: (a, b) => [`ifloordiv_(${a}, ${b})`, 'i32'],
  eq: (a, b) => [`(${a} == ${b})`, 'bool'],
  ne: (a, b) => [`(${a} != ${b})`, 'bool'],
  lt: (a, b) => [`(${a} < ${b})`, 'bool'],
  le: (a, b) => [`(${a} <= ${b})`, 'bool'],
  gt: (a, b) => [`(${a} > ${b})`, 'bool'],
  ge: (a, b) => [`(${a} >= ${b})`, 'bool'],
  logicalAnd: (a, b) => [`((${a} != 0) && (${b} != 0))`, 'bool'],
  logicalOr: (a, b) => [`((${a} != 0) || (${b} != 0))`, 'bool'],
  logicalXor: (a, b) => [`((${a} != 0) != (${b} != 0))`, 'bool'],
};

/** WGSL that stores a value of type `type` into a word of `dtype` (casting as C and PyTorch do). */
export function storeAs(dtype: DType, [code, type]: Expr): string {
  const word = wordOf(dtype);
  if (dtype === 'bool') {
    if (type === 'bool') return `select(0, 1, ${code})`;
    return `select(0, 1, ${code} != ${type === 'f32' ? '0.0' : '0'})`;
  }
  let v: string;
  if (word === 'f32') {
    v = type === 'f32' ? code : type === 'i32' ? `f32(${code})` : `select(0.0, 1.0, ${code})`;
    if (dtype === 'float16') v = `f16round_(${v})`;
    if (dtype === 'bfloat16') v = `bf16round_(${v})`;
    return v;
  }
  // Float -> integer truncates toward zero.
  v = type === 'i32' ? code : type === 'f32' ? `i32(trunc(${code}))` : `select(0, 1, ${code})`;
  if (dtype === 'int8') return `((${v} << 24u) >> 24u)`;
  if (dtype === 'uint8') return `(${v} & 255)`;
  return v;
}

/**
 * Runs `out[i] = store(expr(in0[i], in1[i], ...))` over `out.shape`, every operand strided. The
 * WGSL itself is the pipeline key: it depends only on op, dtypes and coalesced rank.
 */
export function runElementwise(
  rt: Runtime,
  inputs: readonly KernelTensor[],
  out: KernelTensor,
  body: (loaded: string[], p: Params) => string,
): void {
  const n = numel(out.shape);
  if (n === 0) return;
  const p = new Params();
  const total = p.int(n);
  const names = [...inputs.map((_, k) => `o${k}`), 'oo'];
  const offsets = stridedOffsets(p, 'i', out.shape, [...inputs, out].map(layoutOf), names);
  const stored = body(
    inputs.map((_, k) => `in${k}[o${k}]`),
    p,
  );
  const decls =
    inputs.map((t, k) => binding(k + 1, `in${k}`, wordOf(t.dtype), false)).join('') +
    binding(inputs.length + 1, 'out', wordOf(out.dtype), true);
  const prelude = stored.includes('_(') ? FLOAT_PRELUDE + INT_PRELUDE : '';
  const code = `${p.decl() + decls + prelude + entry(256)}  if (i >= ${total}) { return; }\n${offsets}  out[oo] = ${stored};\n}\n`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: [...inputs.map((t) => t.buffer as GpuBuffer), out.buffer as GpuBuffer],
    params: p.values,
    workgroups: grid(Math.ceil(n / 256)),
  });
}

function unsupported(kind: string, op: string, dtype: DType): Error {
  return new TypeError(`webgpu: ${kind} '${op}' has no kernel for dtype ${dtype}`);
}

export function unary(rt: Runtime, op: UnaryOp, x: KernelTensor, out: KernelTensor): void {
  const f = wordOf(x.dtype) === 'f32' ? UNARY_F32[op] : UNARY_I32[op];
  if (!f) throw unsupported('unary op', op, x.dtype);
  runElementwise(rt, [x], out, ([v]) => storeAs(out.dtype, f(v)));
}

export function binary(rt: Runtime, op: BinaryOp, a: KernelTensor, b: KernelTensor, out: KernelTensor): void {
  const f = wordOf(a.dtype) === 'f32' ? BINARY_F32[op] : BINARY_I32[op];
  if (!f) throw unsupported('binary op', op, a.dtype);
  runElementwise(rt, [a, b], out, ([va, vb]) => storeAs(out.dtype, f(va, vb)));
}

export function where(
  rt: Runtime,
  cond: KernelTensor,
  a: KernelTensor,
  b: KernelTensor,
  out: KernelTensor,
): void {
  const w = wordOf(a.dtype);
  runElementwise(rt, [cond, a, b], out, ([c, va, vb]) =>
    storeAs(out.dtype, [`select(${vb}, ${va}, ${c} != 0)`, w]),
  );
}

/** Strided copy with dtype conversion. */
export function copy(rt: Runtime, src: KernelTensor, dst: KernelTensor): void {
  if (src.buffer === dst.buffer) {
    // One buffer cannot be bound for reading and writing in one dispatch: go through a temporary.
    const n = numel(src.shape);
    const tmp = rt.alloc(n * 4);
    const contiguous = {
      buffer: tmp,
      dtype: src.dtype,
      shape: src.shape,
      strides: contiguousOf(src.shape),
      offset: 0,
    };
    copy(rt, src, contiguous);
    copy(rt, contiguous, dst);
    rt.free(tmp);
    return;
  }
  runElementwise(rt, [src], dst, ([v]) => storeAs(dst.dtype, [v, wordOf(src.dtype)]));
}

function contiguousOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** The stored word for `value` in `dtype`, as the host-side twin of storeAs. */
export function encodeScalar(dtype: DType, value: number): { word: Word; value: number } {
  switch (dtype) {
    case 'bool':
      return { word: 'i32', value: value ? 1 : 0 };
    case 'int32':
      return { word: 'i32', value: Math.trunc(value) | 0 };
    case 'int8':
      return { word: 'i32', value: (Math.trunc(value) << 24) >> 24 };
    case 'uint8':
      return { word: 'i32', value: Math.trunc(value) & 255 };
    default:
      return { word: wordOf(dtype), value };
  }
}

export function fill(rt: Runtime, dst: KernelTensor, value: number): void {
  const enc = encodeScalar(dst.dtype, value);
  runElementwise(rt, [], dst, (_, p) => {
    const v = enc.word === 'f32' ? p.float(value) : p.int(enc.value);
    return storeAs(dst.dtype, [v, enc.word]);
  });
}
