// Batched matmul [B, M, K] x [B, K, N] in two variants, and the linear layer (bias and activation
// applied as the output is written: a GEMM epilogue) on top of either. Every invocation of both
// computes a 4x4 block of C in four vec4 accumulators; operands are read through their strides, so
// transposed and batch-broadcast operands are never materialised.
//
// - 'tiled' (real GPUs): a 16x16 workgroup computes a 64x64 tile; each K step of 16 stages A and
//   B tiles in workgroup memory as vec4s (four rows of A, four columns of B), so the inner loop is
//   four vec4 multiply-adds per pair of vec4 loads from fast on-chip memory.
// - 'direct' (software adapters): no workgroup memory and no barriers; each invocation reads its
//   A rows and B columns straight from storage, K unrolled by 4, as vec4s where an operand's
//   layout allows. On SwiftShader a barrier is a coroutine switch and workgroup memory is one more
//   copy in the same caches, so the tiled kernel's two barriers per K step cost more than they save.
import type { KernelTensor, LinearActivation } from '@kiln/core';
import type { GpuBuffer, Runtime } from '../runtime.js';
import { binding, FLOAT_PRELUDE, Params, type Word, wordOf } from '../wgsl.js';

export type MatmulVariant = 'tiled' | 'direct';

/** A [B, R, C] operand: element offset and strides (batch stride 0 when broadcast). */
interface Operand {
  buffer: GpuBuffer;
  offset: number;
  strides: readonly [number, number, number];
}

interface Epilogue {
  bias: KernelTensor | null;
  activation: LinearActivation;
  /** Receives the value before the activation (the same layout as out). */
  pre: Operand | null;
}

interface Gemm {
  batch: number;
  m: number;
  n: number;
  k: number;
  word: Word;
  a: Operand;
  b: Operand;
  out: Operand;
  epilogue: Epilogue | null;
}

function operand(t: KernelTensor): Operand {
  const [sb, s1, s2] = t.strides;
  return { buffer: t.buffer as GpuBuffer, offset: t.offset, strides: [sb, s1, s2] };
}

export function matmul(
  rt: Runtime,
  variant: MatmulVariant,
  a: KernelTensor,
  b: KernelTensor,
  out: KernelTensor,
): void {
  const [batch, m, k] = a.shape;
  const n = b.shape[2];
  gemm(rt, variant, {
    batch,
    m,
    n,
    k,
    word: wordOf(out.dtype),
    a: operand(a),
    b: operand(b),
    out: operand(out),
    epilogue: null,
  });
}

/** out = act(x w^T + bias) for x [M, K], w [N, K] (any strides), bias [N] or null. */
export function linear(
  rt: Runtime,
  variant: MatmulVariant,
  x: KernelTensor,
  w: KernelTensor,
  bias: KernelTensor | null,
  activation: LinearActivation,
  out: KernelTensor,
  pre: KernelTensor | null,
): void {
  const [m, k] = x.shape;
  const n = w.shape[0];
  const as2 = (t: KernelTensor, s0: number, s1: number): Operand => ({
    buffer: t.buffer as GpuBuffer,
    offset: t.offset,
    strides: [0, s0, s1],
  });
  gemm(rt, variant, {
    batch: 1,
    m,
    n,
    k,
    word: wordOf(out.dtype),
    a: as2(x, x.strides[0], x.strides[1]),
    // w^T [K, N] is w read with its strides swapped.
    b: as2(w, w.strides[1], w.strides[0]),
    out: as2(out, out.strides[0], out.strides[1]),
    epilogue: { bias, activation, pre: pre && as2(pre, pre.strides[0], pre.strides[1]) },
  });
}

const ACTIVATION: Record<LinearActivation, (z: string) => string> = {
  none: (z) => z,
  // select keeps NaN (NaN < 0 is false), as max(NaN, 0) need not.
  relu: (z) => `select(${z}, 0.0, ${z} < 0.0)`,
  gelu: (z) => `(0.5 * ${z} * (1.0 + erf_(${z} * 0.7071067811865476)))`,
  // 0.5 z (1 + tanh(u)) = z sigmoid(2u): no cancellation for negative z, no overflow for large |z|.
  geluTanh: (z) => `(${z} * sigmoid_(1.5957691216057308 * (${z} + 0.044715 * ${z} * ${z} * ${z})))`,
};

interface Store {
  /** Bindings 3.. and the functions the epilogue needs. */
  decl: string;
  /** Statements storing the block; they use bi, m0, n0 and acc0..acc3. */
  body: string;
  buffers: GpuBuffer[];
}

/**
 * The bindings after a and b (out, then bias and pre-activation when present), and the WGSL that
 * stores the 4x4 block `rows` (array of vec4, row r at output row m0 + r, column n0 + c) of batch
 * `bi`, applying the epilogue.
 */
function storeBlock(p: Params, g: Gemm): Store {
  const w = g.word;
  const [oo, osb, osm, osn] = p.ints([g.out.offset, ...g.out.strides]);
  const [M, N] = p.ints([g.m, g.n]);
  const e = g.epilogue;
  let decl = binding(3, 'out', w, true);
  const buffers = [g.out.buffer];
  let value = '  let z = rows[r][c];\n';
  let write = `out[oBase + mm * ${osm} + nn * ${osn}] = ${e ? ACTIVATION[e.activation]('z') : 'z'};`;
  let next = 4;
  if (e?.bias) {
    const [bo, bs] = p.ints([e.bias.offset, e.bias.strides[0]]);
    decl += binding(next++, 'bias', w, false);
    buffers.push(e.bias.buffer as GpuBuffer);
    value = `  let z = rows[r][c] + bias[${bo} + nn * ${bs}];\n`;
  }
  if (e?.pre) {
    const [po, psb, psm, psn] = p.ints([e.pre.offset, ...e.pre.strides]);
    decl += binding(next++, 'pre', w, true);
    buffers.push(e.pre.buffer);
    write = `pre[${po} + bi * ${psb} + mm * ${psm} + nn * ${psn}] = z; ${write}`;
  }
  const body = `  let oBase = ${oo} + bi * ${osb};
  let rows = array<vec4<${w}>, 4>(acc0, acc1, acc2, acc3);
  for (var r = 0; r < 4; r++) {
    let mm = m0 + r;
    if (mm >= ${M}) { break; }
    for (var c = 0; c < 4; c++) {
      let nn = n0 + c;
      if (nn < ${N}) {
      ${value}      ${write}
      }
    }
  }
`;
  return { decl: decl + (e ? FLOAT_PRELUDE : ''), body, buffers };
}

function gemm(rt: Runtime, variant: MatmulVariant, g: Gemm): void {
  if (g.batch === 0 || g.m === 0 || g.n === 0) return;
  if (g.batch > 65535) throw new RangeError(`webgpu: matmul batch ${g.batch} exceeds 65535`);
  const { code, tile } = variant === 'tiled' ? tiledKernel(g) : directKernel(g);
  rt.dispatch({
    key: code.wgsl,
    code: () => code.wgsl,
    buffers: [g.a.buffer, g.b.buffer, ...code.buffers],
    params: code.params,
    workgroups: [Math.ceil(g.n / tile), Math.ceil(g.m / tile), g.batch],
  });
}

interface Kernel {
  code: { wgsl: string; buffers: GpuBuffer[]; params: number[] };
  tile: number;
}

const TILE = 64;
const TK = 16;

function tiledKernel(g: Gemm): Kernel {
  const w = g.word;
  const p = new Params();
  const [M, N, K] = p.ints([g.m, g.n, g.k]);
  const [ao, asb, asm, ask] = p.ints([g.a.offset, ...g.a.strides]);
  const [bo, bsb, bsk, bsn] = p.ints([g.b.offset, ...g.b.strides]);
  const zero = w === 'f32' ? '0.0' : '0';
  const store = storeBlock(p, g);
  const wgsl = `${p.decl()}${binding(1, 'a', w, false)}${binding(2, 'b', w, false)}${store.decl}
var<workgroup> As: array<vec4<${w}>, ${TK * 16}>;
var<workgroup> Bs: array<vec4<${w}>, ${TK * 16}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = i32(lid.x);
  let ty = i32(lid.y);
  let t = ty * 16 + tx;
  let bi = i32(wid.z);
  let mt = i32(wid.y) * ${TILE};
  let nt = i32(wid.x) * ${TILE};
  let aBase = ${ao} + bi * ${asb};
  let bBase = ${bo} + bi * ${bsb};
  var acc0 = vec4<${w}>(${zero});
  var acc1 = vec4<${w}>(${zero});
  var acc2 = vec4<${w}>(${zero});
  var acc3 = vec4<${w}>(${zero});
  let lk = t / 16;
  let lq = (t % 16) * 4;
  for (var k0 = 0; k0 < ${K}; k0 += ${TK}) {
    let kk = k0 + lk;
    var av = vec4<${w}>(${zero});
    var bv = vec4<${w}>(${zero});
    if (kk < ${K}) {
      for (var j = 0; j < 4; j++) {
        let mm = mt + lq + j;
        if (mm < ${M}) { av[j] = a[aBase + mm * ${asm} + kk * ${ask}]; }
        let nn = nt + lq + j;
        if (nn < ${N}) { bv[j] = b[bBase + kk * ${bsk} + nn * ${bsn}]; }
      }
    }
    As[t] = av;
    Bs[t] = bv;
    workgroupBarrier();
    for (var q = 0; q < ${TK}; q++) {
      let a4 = As[q * 16 + ty];
      let b4 = Bs[q * 16 + tx];
      acc0 += a4.x * b4;
      acc1 += a4.y * b4;
      acc2 += a4.z * b4;
      acc3 += a4.w * b4;
    }
    workgroupBarrier();
  }
  let m0 = mt + ty * 4;
  let n0 = nt + tx * 4;
${store.body}}
`;
  return { code: { wgsl, buffers: store.buffers, params: p.values }, tile: TILE };
}

/**
 * How the direct kernel reads an operand over a 4x4 block of (row-or-column, k): 'k' = one vec4
 * along K per row of A / column of B (inner stride 1 along K), 'mn' = one vec4 along M / N per k
 * (inner stride 1 there), 's' = scalars through the strides. Vector reads need 16-byte alignment
 * of every vector, and 'k' needs K % 4 == 0 (so the scalar K tail never reads past a row).
 */
type Access = 'k' | 'mn' | 's';

function accessOf(word: Word, op: Operand, kStride: number, mnStride: number, k: number, mn: number): Access {
  if (word !== 'f32') return 's';
  const aligned = op.offset % 4 === 0 && op.strides[0] % 4 === 0;
  if (aligned && kStride === 1 && mnStride % 4 === 0 && k % 4 === 0) return 'k';
  if (aligned && mnStride === 1 && kStride % 4 === 0 && mn % 4 === 0) return 'mn';
  return 's';
}

const WG = 8;

function directKernel(g: Gemm): Kernel {
  const w = g.word;
  const p = new Params();
  const [M, N, K] = p.ints([g.m, g.n, g.k]);
  const [ao, asb, asm, ask] = p.ints([g.a.offset, ...g.a.strides]);
  const [bo, bsb, bsk, bsn] = p.ints([g.b.offset, ...g.b.strides]);
  const aAccess = accessOf(w, g.a, g.a.strides[2], g.a.strides[1], g.k, g.m);
  const bAccess = accessOf(w, g.b, g.b.strides[1], g.b.strides[2], g.k, g.n);
  const zero = w === 'f32' ? '0.0' : '0';
  const v4 = `vec4<${w}>`;
  const store = storeBlock(p, g);
  const decl = (name: string, i: number, access: Access) =>
    access === 's'
      ? binding(i, name, w, false)
      : `@group(0) @binding(${i}) var<storage, read> ${name}: array<${v4}>;\n`;
  // A scalar element through either kind of binding (the K tail, and 's' reads).
  const ld = (name: string, access: Access, i: string) =>
    access === 's' ? `${name}[${i}]` : `${name}[(${i}) / 4][(${i}) % 4]`;
  const rows = [0, 1, 2, 3];
  // a_r: row r of the A block as a vec4 over k .. k + 3.
  let aBlock: string;
  if (aAccess === 'k') aBlock = rows.map((r) => `    let a${r} = a[(ar${r} + k) / 4];\n`).join('');
  else if (aAccess === 'mn')
    aBlock =
      rows.map((j) => `    let ac${j} = a[(aBase + m0 + (k + ${j}) * ${ask}) / 4];\n`).join('') +
      '    let aT = transpose(mat4x4<f32>(ac0, ac1, ac2, ac3));\n' +
      rows.map((r) => `    let a${r} = aT[${r}];\n`).join('');
  else
    aBlock = rows
      .map(
        (r) =>
          `    let a${r} = ${v4}(${rows.map((j) => ld('a', 's', `ar${r} + (k + ${j}) * ${ask}`)).join(', ')});\n`,
      )
      .join('');
  // b_j: row k + j of the B block as a vec4 over n0 .. n0 + 3.
  let bBlock: string;
  if (bAccess === 'mn')
    bBlock = rows.map((j) => `    let b${j} = b[(bBase + n0 + (k + ${j}) * ${bsk}) / 4];\n`).join('');
  else if (bAccess === 'k')
    bBlock =
      rows.map((c) => `    let bc${c} = b[(bc${c}_ + k) / 4];\n`).join('') +
      '    let bT = transpose(mat4x4<f32>(bc0, bc1, bc2, bc3));\n' +
      rows.map((j) => `    let b${j} = bT[${j}];\n`).join('');
  else
    bBlock = rows
      .map(
        (j) =>
          `    let b${j} = ${v4}(${rows.map((c) => ld('b', 's', `bc${c}_ + (k + ${j}) * ${bsk}`)).join(', ')});\n`,
      )
      .join('');
  const wgsl = `${p.decl()}${decl('a', 1, aAccess)}${decl('b', 2, bAccess)}${store.decl}
@compute @workgroup_size(${WG}, ${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let bi = i32(gid.z);
  let m0 = i32(gid.y) * 4;
  let n0 = i32(gid.x) * 4;
  if (m0 >= ${M} || n0 >= ${N}) { return; }
  let aBase = ${ao} + bi * ${asb};
  let bBase = ${bo} + bi * ${bsb};
  // Rows of A and columns of B past the edge are clamped: read, then never stored.
${rows.map((r) => `  let ar${r} = aBase + min(m0 + ${r}, ${M} - 1) * ${asm};\n`).join('')}${rows
  .map((c) => `  let bc${c}_ = bBase + min(n0 + ${c}, ${N} - 1) * ${bsn};\n`)
  .join('')}  var acc0 = ${v4}(${zero});
  var acc1 = ${v4}(${zero});
  var acc2 = ${v4}(${zero});
  var acc3 = ${v4}(${zero});
  let k4 = ${K} - ${K} % 4;
  for (var k = 0; k < k4; k += 4) {
${aBlock}${bBlock}${rows.map((r) => `    acc${r} += a${r}.x * b0 + a${r}.y * b1 + a${r}.z * b2 + a${r}.w * b3;\n`).join('')}  }
  for (var k = k4; k < ${K}; k++) {
    let bk = ${v4}(${rows.map((c) => ld('b', bAccess, `bc${c}_ + k * ${bsk}`)).join(', ')});
${rows.map((r) => `    acc${r} += ${ld('a', aAccess, `ar${r} + k * ${ask}`)} * bk;\n`).join('')}  }
${store.body}}
`;
  return { code: { wgsl, buffers: store.buffers, params: p.values }, tile: 4 * WG };
}
