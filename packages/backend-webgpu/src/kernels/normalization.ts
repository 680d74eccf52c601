// Fused layer norm over x viewed as contiguous [rows, n]. Forward: one workgroup per row, two
// tree reductions in workgroup memory. Backward: one workgroup per row for gradIn (both row means
// in one tree), and one kernel over columns for gradWeight / gradBias.
import type { KernelTensor } from '@kiln/core';
import { type GpuBuffer, grid, type Runtime } from '../runtime.js';
import { binding, entry, Params } from '../wgsl.js';
import { storeAs } from './elementwise.js';

const ROW_WG = 64;
/** Column kernel: COLS adjacent columns (coalesced reads) x LANES row lanes per workgroup. */
const COLS = 32;
const LANES = 8;

/** A sum tree over `sh` (vec2 partials): every invocation leaves with the total in `name`. */
function vec2Tree(name: string, value: string): string {
  return `  sh[lid] = ${value};
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { sh[lid] = sh[lid] + sh[lid + s]; }
    workgroupBarrier();
  }
  let ${name} = sh[0];
  workgroupBarrier();
`;
}

/**
 * out = (x - mean) * rstd * weight + bias per row, with the biased variance. The statistics use
 * the corrected two-pass scheme (Chan, Golub and LeVeque): a first pass gives m0 = sum(x) / n, a
 * second sums d = x - m0 and d^2, then mean = m0 + sum(d) / n and var = sum(d^2) / n -
 * (sum(d) / n)^2. x - m0 is exact for rows far from zero (Sterbenz), so a large mean costs no
 * accuracy, and the output is normalised from (x - m0) - sum(d) / n rather than from the rounded mean.
 */
export function layerNorm(
  rt: Runtime,
  x: KernelTensor,
  weight: KernelTensor | null,
  bias: KernelTensor | null,
  eps: number,
  out: KernelTensor,
  mean: KernelTensor,
  rstd: KernelTensor,
): void {
  const [rows, n] = out.shape;
  if (rows === 0 || n === 0) return;
  const p = new Params();
  const [R, N, xo, oo, mo, ro] = p.ints([rows, n, x.offset, out.offset, mean.offset, rstd.offset]);
  const eP = p.float(eps);
  const buffers = [x, out, mean, rstd];
  let decls =
    binding(1, 'x', 'f32', false) +
    binding(2, 'out', 'f32', true) +
    binding(3, 'mean', 'f32', true) +
    binding(4, 'rstd', 'f32', true);
  let y = 'd * r';
  if (weight) {
    decls += binding(buffers.length + 1, 'w', 'f32', false);
    buffers.push(weight);
    y = `${y} * w[${p.int(weight.offset)} + k]`;
  }
  if (bias) {
    decls += binding(buffers.length + 1, 'b', 'f32', false);
    buffers.push(bias);
    y = `${y} + b[${p.int(bias.offset)} + k]`;
  }
  const code = `${p.decl()}${decls}var<workgroup> sh: array<vec2<f32>, ${ROW_WG}>;
${entry(ROW_WG)}  if (wg >= ${R}) { return; }
  let xr = ${xo} + wg * ${N};
  let nf = f32(${N});
  var acc = vec2<f32>(0.0);
  for (var k = i32(lid); k < ${N}; k += ${ROW_WG}) { acc.x += x[xr + k]; }
${vec2Tree('s0', 'acc')}  let m0 = s0.x / nf;
  acc = vec2<f32>(0.0);
  for (var k = i32(lid); k < ${N}; k += ${ROW_WG}) { let d = x[xr + k] - m0; acc += vec2<f32>(d, d * d); }
${vec2Tree('s1', 'acc')}  let dm = s1.x / nf;
  let r = 1.0 / sqrt(max(s1.y / nf - dm * dm, 0.0) + ${eP});
  let orow = ${oo} + wg * ${N};
  for (var k = i32(lid); k < ${N}; k += ${ROW_WG}) {
    let d = (x[xr + k] - m0) - dm;
    out[orow + k] = ${storeAs(out.dtype, [y, 'f32'])};
  }
  if (lid == 0u) {
    mean[${mo} + wg] = ${storeAs(mean.dtype, ['m0 + dm', 'f32'])};
    rstd[${ro} + wg] = ${storeAs(rstd.dtype, ['r', 'f32'])};
  }
}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: buffers.map((t) => t.buffer as GpuBuffer),
    params: p.values,
    workgroups: grid(rows),
  });
}

/**
 * Gradients of layerNorm from the saved mean and rstd (see FusedKernels.layerNormBackward):
 * gradIn = rstd * (gy - mean(gy) - xhat * mean(gy * xhat)), gy = gradOut * weight, one workgroup
 * per row; gradWeight = sum_rows gradOut * xhat and gradBias = sum_rows gradOut in a second kernel.
 */
export function layerNormBackward(
  rt: Runtime,
  gradOut: KernelTensor,
  x: KernelTensor,
  weight: KernelTensor | null,
  mean: KernelTensor,
  rstd: KernelTensor,
  gradIn: KernelTensor | null,
  gradWeight: KernelTensor | null,
  gradBias: KernelTensor | null,
): void {
  const [rows, n] = gradOut.shape;
  if (n === 0) return;
  if (gradIn && rows > 0) inputGradient(rt, gradOut, x, weight, mean, rstd, gradIn, rows, n);
  // Also with no rows: the sums are then zeros, which the kernel writes.
  if (gradWeight || gradBias) affineGradients(rt, gradOut, x, mean, rstd, gradWeight, gradBias, rows, n);
}

function inputGradient(
  rt: Runtime,
  gradOut: KernelTensor,
  x: KernelTensor,
  weight: KernelTensor | null,
  mean: KernelTensor,
  rstd: KernelTensor,
  gradIn: KernelTensor,
  rows: number,
  n: number,
): void {
  const p = new Params();
  const [R, N, go, xo, mo, ro, gi] = p.ints([
    rows,
    n,
    gradOut.offset,
    x.offset,
    mean.offset,
    rstd.offset,
    gradIn.offset,
  ]);
  const buffers = [gradOut, x, mean, rstd, gradIn];
  let decls =
    binding(1, 'g', 'f32', false) +
    binding(2, 'x', 'f32', false) +
    binding(3, 'mean', 'f32', false) +
    binding(4, 'rstd', 'f32', false) +
    binding(5, 'gi', 'f32', true);
  let gy = `g[${go} + row + k]`;
  if (weight) {
    decls += binding(6, 'w', 'f32', false);
    buffers.push(weight);
    gy = `${gy} * w[${p.int(weight.offset)} + k]`;
  }
  const code = `${p.decl()}${decls}var<workgroup> sh: array<vec2<f32>, ${ROW_WG}>;
${entry(ROW_WG)}  if (wg >= ${R}) { return; }
  let row = wg * ${N};
  let mu = mean[${mo} + wg];
  let r = rstd[${ro} + wg];
  var acc = vec2<f32>(0.0);
  for (var k = i32(lid); k < ${N}; k += ${ROW_WG}) {
    let gy = ${gy};
    acc += vec2<f32>(gy, gy * ((x[${xo} + row + k] - mu) * r));
  }
${vec2Tree('s', 'acc')}  let a = s.x / f32(${N});
  let b = s.y / f32(${N});
  for (var k = i32(lid); k < ${N}; k += ${ROW_WG}) {
    let xhat = (x[${xo} + row + k] - mu) * r;
    gi[${gi} + row + k] = ${storeAs(gradIn.dtype, [`r * ((${gy} - a) - xhat * b)`, 'f32'])};
  }
}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: buffers.map((t) => t.buffer as GpuBuffer),
    params: p.values,
    workgroups: grid(rows),
  });
}

/**
 * Column sums over rows: each workgroup owns COLS adjacent columns (so a warp reads contiguous
 * memory) and splits the rows over LANES lanes, folded by a tree in workgroup memory.
 */
function affineGradients(
  rt: Runtime,
  gradOut: KernelTensor,
  x: KernelTensor,
  mean: KernelTensor,
  rstd: KernelTensor,
  gradWeight: KernelTensor | null,
  gradBias: KernelTensor | null,
  rows: number,
  n: number,
): void {
  const p = new Params();
  const [R, N, go, xo, mo, ro] = p.ints([rows, n, gradOut.offset, x.offset, mean.offset, rstd.offset]);
  const buffers = [gradOut, x, mean, rstd];
  let decls =
    binding(1, 'g', 'f32', false) +
    binding(2, 'x', 'f32', false) +
    binding(3, 'mean', 'f32', false) +
    binding(4, 'rstd', 'f32', false);
  let write = '';
  if (gradWeight) {
    decls += binding(buffers.length + 1, 'gw', 'f32', true);
    buffers.push(gradWeight);
    write += `    gw[${p.int(gradWeight.offset)} + c] = ${storeAs(gradWeight.dtype, ['sh[lid].x', 'f32'])};\n`;
  }
  if (gradBias) {
    decls += binding(buffers.length + 1, 'gb', 'f32', true);
    buffers.push(gradBias);
    write += `    gb[${p.int(gradBias.offset)} + c] = ${storeAs(gradBias.dtype, ['sh[lid].y', 'f32'])};\n`;
  }
  const code = `${p.decl()}${decls}var<workgroup> sh: array<vec2<f32>, ${COLS * LANES}>;
${entry(COLS * LANES)}  let c = wg * ${COLS} + i32(lid % ${COLS}u);
  let lane = i32(lid / ${COLS}u);
  var acc = vec2<f32>(0.0);
  if (c < ${N}) {
    for (var r = lane; r < ${R}; r += ${LANES}) {
      let gv = g[${go} + r * ${N} + c];
      let xhat = (x[${xo} + r * ${N} + c] - mean[${mo} + r]) * rstd[${ro} + r];
      acc += vec2<f32>(gv * xhat, gv);
    }
  }
  sh[lid] = acc;
  workgroupBarrier();
  for (var s = ${LANES / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s * ${COLS}u) { sh[lid] = sh[lid] + sh[lid + s * ${COLS}u]; }
    workgroupBarrier();
  }
  if (lid < ${COLS}u && c < ${N}) {
${write}  }
}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: buffers.map((t) => t.buffer as GpuBuffer),
    params: p.values,
    workgroups: grid(Math.ceil(n / COLS)),
  });
}
