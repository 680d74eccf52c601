// Batched matmul [B, M, K] x [B, K, N] in two variants, and the linear layer (bias and activation
// applied as the output is written: a GEMM epilogue) on top of either. Every invocation of both
// computes a block of C in vec4 accumulators; operands are read through their strides, so
// transposed and batch-broadcast operands are never materialised.
//
// - 'tiled' (real GPUs): a 16x16 workgroup computes a 64x64 tile, 4x4 per invocation; each K step
//   of 16 stages A and B tiles in workgroup memory as vec4s (four rows of A, four columns of B), so
//   the inner loop is four vec4 multiply-adds per pair of vec4 loads from fast on-chip memory.
// - 'direct' (software adapters): no workgroup memory and no barriers; each invocation computes a
//   16x16 block (4 rows or columns where the operand is narrower) from its A rows and B columns
//   read straight from storage, K unrolled by 4, as vec4s where an operand's layout allows. On
//   SwiftShader a barrier is a coroutine switch and workgroup memory is one more copy in the same
//   caches, so the tiled kernel's two barriers per K step cost more than they save; what does
//   count there is the number of storage reads per multiply-add (see directKernel).
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
  /** Statements storing the block; they use bi, m0, n0 and the accumulators acc{r}_{q}. */
  body: string;
  buffers: GpuBuffer[];
}

/**
 * The bindings after a and b (out, then bias and pre-activation when present), and the WGSL that
 * stores a block of `rows` x 4 * `vecs` outputs of batch `bi`, applying the epilogue: acc{r}_{q}
 * holds output row m0 + r, columns n0 + 4q .. n0 + 4q + 3.
 */
function storeBlock(p: Params, g: Gemm, rows: number, vecs: number): Store {
  const w = g.word;
  const [oo, osb, osm, osn] = p.ints([g.out.offset, ...g.out.strides]);
  const [M, N] = p.ints([g.m, g.n]);
  const e = g.epilogue;
  let decl = binding(3, 'out', w, true);
  const buffers = [g.out.buffer];
  let value = `  let z = blk[r * ${vecs} + q][i];\n`;
  let write = `out[oBase + mm * ${osm} + nn * ${osn}] = ${e ? ACTIVATION[e.activation]('z') : 'z'};`;
  let next = 4;
  if (e?.bias) {
    const [bo, bs] = p.ints([e.bias.offset, e.bias.strides[0]]);
    decl += binding(next++, 'bias', w, false);
    buffers.push(e.bias.buffer as GpuBuffer);
    value = `  let z = blk[r * ${vecs} + q][i] + bias[${bo} + nn * ${bs}];\n`;
  }
  if (e?.pre) {
    const [po, psb, psm, psn] = p.ints([e.pre.offset, ...e.pre.strides]);
    decl += binding(next++, 'pre', w, true);
    buffers.push(e.pre.buffer);
    write = `pre[${po} + bi * ${psb} + mm * ${psm} + nn * ${psn}] = z; ${write}`;
  }
  const accs = range(rows).flatMap((r) => range(vecs).map((q) => `acc${r}_${q}`));
  const body = `  let oBase = ${oo} + bi * ${osb};
  let blk = array<vec4<${w}>, ${rows * vecs}>(${accs.join(', ')});
  for (var r = 0; r < ${rows}; r++) {
    let mm = m0 + r;
    if (mm >= ${M}) { break; }
    for (var q = 0; q < ${vecs}; q++) {
      for (var i = 0; i < 4; i++) {
        let nn = n0 + 4 * q + i;
        if (nn < ${N}) {
        ${value}        ${write}
        }
      }
    }
  }
`;
  return { decl: decl + (e ? FLOAT_PRELUDE : ''), body, buffers };
}

function gemm(rt: Runtime, variant: MatmulVariant, g: Gemm): void {
  if (g.batch === 0 || g.m === 0 || g.n === 0) return;
  if (g.batch > 65535) throw new RangeError(`webgpu: matmul batch ${g.batch} exceeds 65535`);
  const { code, rows, cols } = variant === 'tiled' ? tiledKernel(g) : directKernel(g);
  rt.dispatch({
    key: code.wgsl,
    code: () => code.wgsl,
    buffers: [g.a.buffer, g.b.buffer, ...code.buffers],
    params: code.params,
    workgroups: [Math.ceil(g.n / cols), Math.ceil(g.m / rows), g.batch],
  });
}

interface Kernel {
  code: { wgsl: string; buffers: GpuBuffer[]; params: number[] };
  /** Rows and columns of C per workgroup. */
  rows: number;
  cols: number;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

const TILE = 64;
const TK = 16;

function tiledKernel(g: Gemm): Kernel {
  const w = g.word;
  const p = new Params();
  const [M, N, K] = p.ints([g.m, g.n, g.k]);
  const [ao, asb, asm, ask] = p.ints([g.a.offset, ...g.a.strides]);
  const [bo, bsb, bsk, bsn] = p.ints([g.b.offset, ...g.b.strides]);
  const zero = w === 'f32' ? '0.0' : '0';
  const store = storeBlock(p, g, 4, 1);
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
${range(4)
  .map((r) => `  var acc${r}_0 = vec4<${w}>(${zero});\n`)
  .join('')}  let lk = t / 16;
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
      acc0_0 += a4.x * b4;
      acc1_0 += a4.y * b4;
      acc2_0 += a4.z * b4;
      acc3_0 += a4.w * b4;
    }
    workgroupBarrier();
  }
  let m0 = mt + ty * 4;
  let n0 = nt + tx * 4;
${store.body}}
`;
  return { code: { wgsl, buffers: store.buffers, params: p.values }, rows: TILE, cols: TILE };
}

/**
 * How the direct kernel reads an operand over a block of (row-or-column, k): 'k' = one vec4
 * along K per row of A / column of B (inner stride 1 along K), 'mn' = one vec4 along M / N per k
 * (inner stride 1 there), 's' = scalars through the strides. Vector reads need 16-byte alignment
 * of every vector, 'k' needs K % 4 == 0 (so there is no scalar K tail) and 'mn' needs M (N) % 4 == 0
 * (so a vector clamped to the last four rows or columns stays inside the operand).
 */
type Access = 'k' | 'mn' | 's';

function accessOf(word: Word, op: Operand, kStride: number, mnStride: number, k: number, mn: number): Access {
  if (word !== 'f32') return 's';
  const aligned = op.offset % 4 === 0 && op.strides[0] % 4 === 0;
  if (aligned && kStride === 1 && mnStride % 4 === 0 && k % 4 === 0) return 'k';
  if (aligned && mnStride === 1 && kStride % 4 === 0 && mn % 4 === 0) return 'mn';
  return 's';
}

const WG = 4;

/**
 * Rows (columns) of C per direct-kernel invocation: 16 when the operand has that many, else 4, so
 * a matrix-vector product does not compute 15 rows it throws away. Two shape classes, two pipelines.
 */
const blockOf = (extent: number): number => (extent >= 16 ? 16 : 4);

/**
 * The barrier-free kernel. SwiftShader runs four invocations as the lanes of one SIMD register, and
 * a storage read at a per-lane index is an emulated gather: four scalar loads, each behind its own
 * branch. Those loads, not the multiply-adds, bound the kernel, so each invocation keeps a large
 * block of C in registers: a 16x16 block reads 16 + 16 values per k for 256 multiply-adds (a 4x4
 * block: 8 for 16, four times the loads per multiply-add). Index arithmetic in the loop is in
 * vec4 units computed before it (a vector integer division is four scalar ones there).
 */
function directKernel(g: Gemm): Kernel {
  const w = g.word;
  const p = new Params();
  const [M, N, K] = p.ints([g.m, g.n, g.k]);
  const [ao, asb, asm, ask] = p.ints([g.a.offset, ...g.a.strides]);
  const [bo, bsb, bsk, bsn] = p.ints([g.b.offset, ...g.b.strides]);
  const aAccess = accessOf(w, g.a, g.a.strides[2], g.a.strides[1], g.k, g.m);
  const bAccess = accessOf(w, g.b, g.b.strides[1], g.b.strides[2], g.k, g.n);
  const rowCount = blockOf(g.m);
  const vecCount = blockOf(g.n) / 4;
  const rows = range(rowCount);
  const vecs = range(vecCount);
  const cols = range(4 * vecCount);
  const groups = range(rowCount / 4);
  const four = range(4);
  const zero = w === 'f32' ? '0.0' : '0';
  const v4 = `vec4<${w}>`;
  const store = storeBlock(p, g, rowCount, vecCount);
  const decl = (name: string, i: number, access: Access) =>
    access === 's'
      ? binding(i, name, w, false)
      : `@group(0) @binding(${i}) var<storage, read> ${name}: array<${v4}>;\n`;
  // A scalar element through either kind of binding (the K tail, and 's' reads).
  const ld = (name: string, access: Access, i: string) =>
    access === 's' ? `${name}[${i}]` : `${name}[(${i}) / 4][(${i}) % 4]`;
  const lines = (xs: number[], f: (x: number) => string) => xs.map((x) => `${f(x)}\n`).join('');
  // Rows of A and columns of B past the edge are clamped: read, then never stored. The prologues
  // give where row r of A (ar{r}) and column c of B (bc{c}) start, or for reads along M / N where
  // each vec4 of four rows (ag{h}) or columns (bq{q}) starts, in vec4 units for vector reads.
  let aPrologue: string;
  let aBlock: string; // a{r}: row r of the A block as a vec4 over k .. k + 3
  if (aAccess === 'k') {
    aPrologue = lines(rows, (r) => `  let ar${r} = (aBase + min(m0 + ${r}, ${M} - 1) * ${asm}) / 4;`);
    aBlock = lines(rows, (r) => `    let a${r} = a[ar${r} + kq];`);
  } else if (aAccess === 'mn') {
    aPrologue =
      `  let ask4 = ${ask} / 4;\n` +
      lines(groups, (h) => `  let ag${h} = (aBase + min(m0 + ${4 * h}, ${M} - 4)) / 4;`);
    aBlock = groups
      .map(
        (h) =>
          lines(four, (j) => `    let ac${h}_${j} = a[ag${h} + (k + ${j}) * ask4];`) +
          `    let aT${h} = transpose(mat4x4<f32>(${four.map((j) => `ac${h}_${j}`).join(', ')}));\n` +
          lines(four, (i) => `    let a${4 * h + i} = aT${h}[${i}];`),
      )
      .join('');
  } else {
    aPrologue = lines(rows, (r) => `  let ar${r} = aBase + min(m0 + ${r}, ${M} - 1) * ${asm};`);
    aBlock = lines(
      rows,
      (r) => `    let a${r} = ${v4}(${four.map((j) => `a[ar${r} + (k + ${j}) * ${ask}]`).join(', ')});`,
    );
  }
  let bPrologue: string;
  let bBlock: string; // b{j}_{q}: row k + j of the B block as a vec4 over columns n0 + 4q .. n0 + 4q + 3
  if (bAccess === 'mn') {
    bPrologue =
      `  let bsk4 = ${bsk} / 4;\n` +
      lines(vecs, (q) => `  let bq${q} = (bBase + min(n0 + ${4 * q}, ${N} - 4)) / 4;`);
    bBlock = four
      .map((j) => lines(vecs, (q) => `    let b${j}_${q} = b[bq${q} + (k + ${j}) * bsk4];`))
      .join('');
  } else if (bAccess === 'k') {
    bPrologue = lines(cols, (c) => `  let bc${c} = (bBase + min(n0 + ${c}, ${N} - 1) * ${bsn}) / 4;`);
    bBlock = vecs
      .map(
        (q) =>
          lines(four, (i) => `    let bn${4 * q + i} = b[bc${4 * q + i} + kq];`) +
          `    let bT${q} = transpose(mat4x4<f32>(${four.map((i) => `bn${4 * q + i}`).join(', ')}));\n` +
          lines(four, (j) => `    let b${j}_${q} = bT${q}[${j}];`),
      )
      .join('');
  } else {
    bPrologue = lines(cols, (c) => `  let bc${c} = bBase + min(n0 + ${c}, ${N} - 1) * ${bsn};`);
    bBlock = four
      .map((j) =>
        lines(
          vecs,
          (q) =>
            `    let b${j}_${q} = ${v4}(${four.map((i) => `b[bc${4 * q + i} + (k + ${j}) * ${bsk}]`).join(', ')});`,
        ),
      )
      .join('');
  }
  const fma = rows
    .map((r) =>
      lines(
        vecs,
        (q) => `    acc${r}_${q} += ${four.map((j) => `a${r}.${'xyzw'[j]} * b${j}_${q}`).join(' + ')};`,
      ),
    )
    .join('');
  // The K tail (K % 4 != 0, never with a 'k' read): one k at a time through element offsets.
  const aTail = (r: number) => ld('a', aAccess, `aBase + min(m0 + ${r}, ${M} - 1) * ${asm} + k * ${ask}`);
  const bTail = (c: number) => ld('b', bAccess, `bBase + min(n0 + ${c}, ${N} - 1) * ${bsn} + k * ${bsk}`);
  const tail =
    lines(rows, (r) => `    let ak${r} = ${aTail(r)};`) +
    lines(vecs, (q) => `    let bk${q} = ${v4}(${four.map((i) => bTail(4 * q + i)).join(', ')});`) +
    rows.map((r) => lines(vecs, (q) => `    acc${r}_${q} += ak${r} * bk${q};`)).join('');
  const wgsl = `${p.decl()}${decl('a', 1, aAccess)}${decl('b', 2, bAccess)}${store.decl}
@compute @workgroup_size(${WG}, ${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let bi = i32(gid.z);
  let m0 = i32(gid.y) * ${rowCount};
  let n0 = i32(gid.x) * ${4 * vecCount};
  if (m0 >= ${M} || n0 >= ${N}) { return; }
  let aBase = ${ao} + bi * ${asb};
  let bBase = ${bo} + bi * ${bsb};
${aPrologue}${bPrologue}${rows.map((r) => lines(vecs, (q) => `  var acc${r}_${q} = ${v4}(${zero});`)).join('')}  let quads = ${K} / 4;
  for (var kq = 0; kq < quads; kq++) {
    let k = 4 * kq;
${aBlock}${bBlock}${fma}  }
  for (var k = 4 * quads; k < ${K}; k++) {
${tail}  }
${store.body}}
`;
  return {
    code: { wgsl, buffers: store.buffers, params: p.values },
    rows: rowCount * WG,
    cols: 4 * vecCount * WG,
  };
}
