// Pieces every generated kernel shares: storage word types per dtype, the uniform parameter block,
// strided index math, and the float functions WGSL lacks or specifies too loosely.
import type { DType, KernelTensor } from '@kiln/core';
import { coalesceDims } from '@kiln/core';

/** Every dtype is stored in 32-bit words: floats as f32, integers and bool widened to i32. */
export type Word = 'f32' | 'i32';

export function wordOf(dtype: DType): Word {
  switch (dtype) {
    case 'float32':
    case 'float16':
    case 'bfloat16':
      return 'f32';
    case 'int32':
    case 'int8':
    case 'uint8':
    case 'bool':
      return 'i32';
    default:
      throw new TypeError(`webgpu: dtype ${dtype} is not supported (WebGPU has no 64-bit types)`);
  }
}

const F32 = new Float32Array(1);
const I32 = new Int32Array(F32.buffer);

export function f32Bits(v: number): number {
  F32[0] = v;
  return I32[0];
}

/**
 * The uniform block of one dispatch: values are appended while the WGSL is generated, and each
 * append returns its accessor, so the code depends only on how many values there are.
 */
export class Params {
  readonly values: number[] = [];

  int(v: number): string {
    const i = this.values.length;
    if (!Number.isInteger(v) || v > 2147483647 || v < -2147483648)
      throw new RangeError(`webgpu: kernel parameter ${v} does not fit in int32`);
    this.values.push(v);
    return `u.p[${i >> 2}][${i & 3}]`;
  }

  float(v: number): string {
    const i = this.values.length;
    this.values.push(f32Bits(v));
    return `bitcast<f32>(u.p[${i >> 2}][${i & 3}])`;
  }

  ints(vs: readonly number[]): string[] {
    return vs.map((v) => this.int(v));
  }

  decl(): string {
    const n = Math.max(1, Math.ceil(this.values.length / 4));
    return `struct U { p: array<vec4<i32>, ${n}> }\n@group(0) @binding(0) var<uniform> u: U;\n`;
  }
}

export function binding(index: number, name: string, word: Word, write: boolean): string {
  const access = write ? 'read_write' : 'read';
  return `@group(0) @binding(${index}) var<storage, ${access}> ${name}: array<${word}>;\n`;
}

/** The entry point header: `i` is the invocation's linear index over a 2-D grid of workgroups. */
export function entry(workgroupSize: number): string {
  return (
    `@compute @workgroup_size(${workgroupSize})\n` +
    'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, ' +
    '@builtin(local_invocation_index) lid: u32) {\n' +
    `  let wg = i32(wid.x + wid.y * nwg.x);\n  let i = wg * ${workgroupSize} + i32(lid);\n`
  );
}

export interface Layout {
  readonly strides: readonly number[];
  readonly offset: number;
}

/**
 * WGSL that turns the linear index `idx` over `shape` into element offsets `names[k]` of strided
 * operands (declared as `var`). Shape and strides come from the uniform block.
 */
export function stridedOffsets(
  p: Params,
  idx: string,
  shape: readonly number[],
  operands: readonly Layout[],
  names: readonly string[],
): string {
  const c = coalesceDims(shape, operands);
  const shp = p.ints(c.shape);
  const offs = operands.map((op) => p.int(op.offset));
  const strides = c.strides.map((s) => p.ints(s));
  let code = names.map((n, k) => `  var ${n} = ${offs[k]};\n`).join('');
  if (c.shape.length) code += `  var rem_ = ${idx};\n`;
  for (let d = c.shape.length - 1; d >= 0; d--) {
    const coord = d === 0 ? 'rem_' : `(rem_ % ${shp[d]})`;
    code += `  { let c_ = ${coord};${d > 0 ? ` rem_ = rem_ / ${shp[d]};` : ''}`;
    code += names.map((n, k) => ` ${n} += c_ * ${strides[k][d]};`).join('');
    code += ' }\n';
  }
  return code;
}

export function layoutOf(t: KernelTensor): Layout {
  return { strides: t.strides, offset: t.offset };
}

/** Float helpers: NaN tests that survive optimisers, and functions with tighter error than WGSL's builtins. */
export const FLOAT_PRELUDE = /* wgsl */ `
fn isnan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
// Through a var: WGSL rejects NaN and infinity in constant expressions.
fn nan_() -> f32 { var b = 0x7fc00000u; return bitcast<f32>(b); }
fn inf_() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }
fn expm1_(x: f32) -> f32 {
  if (abs(x) < 1e-4) { return x + 0.5 * x * x + x * x * x / 6.0; }
  let e = exp(x);
  if (e == 1.0) { return x; }
  let em1 = e - 1.0;
  if (em1 == -1.0 || isnan_(em1) || em1 > 3.0e38) { return em1; }
  return em1 * x / log(e);
}
fn log1p_(x: f32) -> f32 {
  let v = 1.0 + x;
  if (v == 1.0) { return x; }
  if (v == 0.0 || isnan_(v) || v > 3.0e38) { return log(v); }
  return log(v) * x / (v - 1.0);
}
fn tanh_(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.125) {
    let x2 = x * x;
    return x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (62.0 / 2835.0)))));
  }
  let t = exp(-2.0 * a);
  let r = (1.0 - t) / (1.0 + t);
  return select(r, -r, x < 0.0);
}
fn sigmoid_(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn erf_(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.5) {
    let x2 = x * x;
    return 1.1283791670955126 * x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (0.1 + x2 * (-1.0 / 42.0 + x2 * (1.0 / 216.0 + x2 * (-1.0 / 1320.0 + x2 / 9360.0))))));
  }
  if (isnan_(x)) { return x; }
  // erfc by Numerical Recipes' Chebyshev fit (fractional error < 1.2e-7).
  let t = 1.0 / (1.0 + 0.5 * a);
  let y = t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  let r = 1.0 - y;
  return select(r, -r, x < 0.0);
}
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (b == 1.0) { return a; }
  if (b == 2.0) { return a * a; }
  if (b == 3.0) { return a * a * a; }
  if (b == -1.0) { return 1.0 / a; }
  if (b == 0.5) { return sqrt(a); }
  if (isnan_(a) || isnan_(b)) { return nan_(); }
  if (a == 0.0) { return select(inf_(), 0.0, b > 0.0); }
  if (a < 0.0) {
    if (b != trunc(b)) { return nan_(); }
    let r = exp2(b * log2(-a));
    return select(r, -r, fract(b * 0.5) != 0.0);
  }
  return exp2(b * log2(a));
}
fn max_(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return nan_(); } return max(a, b); }
fn min_(a: f32, b: f32) -> f32 { if (isnan_(a) || isnan_(b)) { return nan_(); } return min(a, b); }
fn remainder_(a: f32, b: f32) -> f32 {
  let r = a - b * trunc(a / b);
  return select(r, r + b, r != 0.0 && ((r < 0.0) != (b < 0.0)));
}
// sin and cos to a few ulp (WGSL only promises 2^-11 absolute, and SwiftShader is that loose):
// Cody-Waite reduction by pi/2 in three parts, then Cephes' sinf/cosf polynomials on [-pi/4, pi/4].
fn sincos_poly_(r: f32, q: i32) -> vec2<f32> {
  let z = r * r;
  let s = r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
  let c = 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
  switch (q & 3) {
    case 0: { return vec2<f32>(s, c); }
    case 1: { return vec2<f32>(c, -s); }
    case 2: { return vec2<f32>(-s, -c); }
    default: { return vec2<f32>(-c, s); }
  }
}
fn sincos_(x: f32) -> vec2<f32> {
  if (isnan_(x) || abs(x) == inf_()) { return vec2<f32>(nan_(), nan_()); }
  let k = round(x * 0.6366197723675814);
  let r = ((x - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
  return sincos_poly_(r, i32(k));
}
fn sin_(x: f32) -> f32 { return sincos_(x).x; }
fn cos_(x: f32) -> f32 { return sincos_(x).y; }
/** cos(2 pi t) reduced exactly in turns: t - k/4 is exact in f32. */
fn cos2pi_(t: f32) -> f32 {
  let k = round(4.0 * t);
  return sincos_poly_((t - 0.25 * k) * 6.283185307179586, i32(k)).y;
}
fn sign_(x: f32) -> f32 { if (isnan_(x)) { return x; } return sign(x); }
fn f16round_(x: f32) -> f32 { return unpack2x16float(pack2x16float(vec2<f32>(x, 0.0))).x; }
fn bf16round_(x: f32) -> f32 {
  if (isnan_(x)) { return x; }
  let b = bitcast<u32>(x);
  return bitcast<f32>((b + 0x7fffu + ((b >> 16u) & 1u)) & 0xffff0000u);
}
`;

export const INT_PRELUDE = /* wgsl */ `
fn iremainder_(a: i32, b: i32) -> i32 {
  if (b == 0) { return 0; }
  let r = a % b;
  return select(r, r + b, r != 0 && ((r < 0) != (b < 0)));
}
fn ifloordiv_(a: i32, b: i32) -> i32 {
  if (b == 0) { return 0; }
  let q = a / b;
  return select(q, q - 1, (a % b != 0) && ((a < 0) != (b < 0)));
}
fn ipow_(a: i32, b: i32) -> i32 {
  if (b < 0) { return select(0, select(1, select(1, -1, (b & 1) != 0), a == -1), a == 1 || a == -1); }
  var r = 1; var base = a; var e = b;
  loop { if (e == 0) { break; } if ((e & 1) != 0) { r = r * base; } base = base * base; e = e >> 1u; }
  return r;
}
`;

/** WGSL decoding the linear index `i` over a 4-D shape into coordinates c0..c3. */
export function decode4(p: Params, shape: readonly number[]): string {
  const [, s1, s2, s3] = p.ints(shape);
  return `  let c3 = i % ${s3}; let r2 = i / ${s3}; let c2 = r2 % ${s2}; let r1 = r2 / ${s2}; let c1 = r1 % ${s1}; let c0 = r1 / ${s1};\n`;
}
