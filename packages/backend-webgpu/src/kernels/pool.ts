// 2-D max and average pooling, forward and backward, one invocation per output element of each
// kernel. Windows follow PyTorch's CPU kernels exactly as the CPU backend does (see its pool.ts):
// a window starts at o*stride - padding, max pooling starts from -inf at the first in-bounds tap
// and lets NaN win, and avg pooling's countIncludePad divisor counts taps inside
// [-padding, size + padding). Backward kernels gather over the windows that cover each input
// element, so they need no atomics.
import type { KernelTensor, Pool2dParams } from '@kiln/core';
import { numel } from '@kiln/core';
import { type Runtime, runPerElement } from '../runtime.js';
import { binding, decode4, entry, FLOAT_PRELUDE, Params } from '../wgsl.js';

const TAPS = /* wgsl */ `
/** One axis of window o: (first in-bounds tap, end, taps inside the padded extent). */
fn taps_(o: i32, stride: i32, pad: i32, k: i32, dil: i32, size: i32) -> vec3<i32> {
  let start = o * stride - pad;
  let stop = start + (k - 1) * dil + 1;
  let paddedEnd = min(stop, size + pad);
  let padded = (paddedEnd - start + dil - 1) / dil;
  var first = start;
  if (first < 0) { first += ((-first + dil - 1) / dil) * dil; }
  return vec3<i32>(first, min(stop, size), padded);
}
fn count_(t: vec3<i32>, dil: i32) -> i32 { return (t.y - t.x + dil - 1) / dil; }
`;

/** Offset of (c0, c1, y, x) in `t`. */
function at(p: Params, t: KernelTensor): (y: string, x: string) => string {
  const [o, s0, s1, s2, s3] = p.ints([t.offset, ...t.strides]);
  return (y, x) => `${o} + c0 * ${s0} + c1 * ${s1} + (${y}) * ${s2} + (${x}) * ${s3}`;
}

function window(p: Params, q: Pool2dParams, inShape: readonly number[], outShape: readonly number[]) {
  const [KH, KW, SH, SW, PH, PW, DH, DW] = p.ints([
    ...q.kernelSize,
    ...q.stride,
    ...q.padding,
    ...q.dilation,
  ]);
  const [H, W, OH, OW] = p.ints([inShape[2], inShape[3], outShape[2], outShape[3]]);
  const rows = (o: string) => `taps_(${o}, ${SH}, ${PH}, ${KH}, ${DH}, ${H})`;
  const cols = (o: string) => `taps_(${o}, ${SW}, ${PW}, ${KW}, ${DW}, ${W})`;
  return { KH, KW, SH, SW, PH, PW, DH, DW, H, W, OH, OW, rows, cols };
}

export function maxPool2d(
  rt: Runtime,
  x: KernelTensor,
  out: KernelTensor,
  indices: KernelTensor,
  q: Pool2dParams,
): void {
  const n = numel(out.shape);
  if (n === 0) return;
  const p = new Params();
  const N = p.int(n);
  const dec = decode4(p, out.shape);
  const g = window(p, q, x.shape, out.shape);
  const X = at(p, x);
  const O = at(p, out);
  const I = at(p, indices);
  const code = `${p.decl()}${binding(1, 'x', 'f32', false)}${binding(2, 'out', 'f32', true)}${binding(3, 'idx', 'i32', true)}${FLOAT_PRELUDE}${TAPS}${entry(64)}  if (i >= ${N}) { return; }
${dec}  let r = ${g.rows('c2')};
  let s = ${g.cols('c3')};
  var best = -inf_();
  var bestIndex = r.x * ${g.W} + s.x;
  for (var ih = r.x; ih < r.y; ih += ${g.DH}) {
    for (var iw = s.x; iw < s.y; iw += ${g.DW}) {
      let v = x[${X('ih', 'iw')}];
      if (v > best || isnan_(v)) { best = v; bestIndex = ih * ${g.W} + iw; }
    }
  }
  out[${O('c2', 'c3')}] = best;
  idx[${I('c2', 'c3')}] = bestIndex;
}
`;
  runPerElement(rt, code, [x, out, indices], p, n);
}

/** WGSL loops over the output windows (y, x) whose extent covers input element (c2, c3). */
function coveringWindows(g: ReturnType<typeof window>, body: string): string {
  return `  let yLo = max(0, (c2 + ${g.PH} - (${g.KH} - 1) * ${g.DH} + ${g.SH} - 1) / ${g.SH});
  let yHi = min(${g.OH} - 1, (c2 + ${g.PH}) / ${g.SH});
  let xLo = max(0, (c3 + ${g.PW} - (${g.KW} - 1) * ${g.DW} + ${g.SW} - 1) / ${g.SW});
  let xHi = min(${g.OW} - 1, (c3 + ${g.PW}) / ${g.SW});
  for (var y = yLo; y <= yHi; y++) {
    for (var xo = xLo; xo <= xHi; xo++) {
${body}
    }
  }
`;
}

export function maxPool2dBackward(
  rt: Runtime,
  gradOut: KernelTensor,
  indices: KernelTensor,
  gradIn: KernelTensor,
  q: Pool2dParams,
): void {
  const n = numel(gradIn.shape);
  if (n === 0) return;
  const p = new Params();
  const N = p.int(n);
  const dec = decode4(p, gradIn.shape);
  const g = window(p, q, gradIn.shape, gradOut.shape);
  const G = at(p, gradOut);
  const I = at(p, indices);
  const GI = at(p, gradIn);
  const code = `${p.decl()}${binding(1, 'g', 'f32', false)}${binding(2, 'idx', 'i32', false)}${binding(3, 'gin', 'f32', true)}${entry(64)}  if (i >= ${N}) { return; }
${dec}  let me = c2 * ${g.W} + c3;
  var acc = 0.0;
${coveringWindows(g, `      if (idx[${I('y', 'xo')}] == me) { acc += g[${G('y', 'xo')}]; }`)}  gin[${GI('c2', 'c3')}] = acc;
}
`;
  runPerElement(rt, code, [gradOut, indices, gradIn], p, n);
}

export function avgPool2d(rt: Runtime, x: KernelTensor, out: KernelTensor, q: Pool2dParams): void {
  const n = numel(out.shape);
  if (n === 0) return;
  const p = new Params();
  const N = p.int(n);
  const dec = decode4(p, out.shape);
  const g = window(p, q, x.shape, out.shape);
  const X = at(p, x);
  const O = at(p, out);
  const include = p.int(q.countIncludePad ? 1 : 0);
  const code = `${p.decl()}${binding(1, 'x', 'f32', false)}${binding(2, 'out', 'f32', true)}${TAPS}${entry(64)}  if (i >= ${N}) { return; }
${dec}  let r = ${g.rows('c2')};
  let s = ${g.cols('c3')};
  if (r.x >= r.y || s.x >= s.y) { out[${O('c2', 'c3')}] = 0.0; return; }
  var sum = 0.0;
  for (var ih = r.x; ih < r.y; ih += ${g.DH}) {
    for (var iw = s.x; iw < s.y; iw += ${g.DW}) { sum += x[${X('ih', 'iw')}]; }
  }
  let d = select(count_(r, ${g.DH}) * count_(s, ${g.DW}), r.z * s.z, ${include} != 0);
  out[${O('c2', 'c3')}] = sum / f32(d);
}
`;
  runPerElement(rt, code, [x, out], p, n);
}

export function avgPool2dBackward(
  rt: Runtime,
  gradOut: KernelTensor,
  gradIn: KernelTensor,
  q: Pool2dParams,
): void {
  const n = numel(gradIn.shape);
  if (n === 0) return;
  const p = new Params();
  const N = p.int(n);
  const dec = decode4(p, gradIn.shape);
  const g = window(p, q, gradIn.shape, gradOut.shape);
  const G = at(p, gradOut);
  const GI = at(p, gradIn);
  const include = p.int(q.countIncludePad ? 1 : 0);
  const body = `      let r = ${g.rows('y')};
      let s = ${g.cols('xo')};
      if (c2 < r.x || c2 >= r.y || (c2 - r.x) % ${g.DH} != 0) { continue; }
      if (c3 < s.x || c3 >= s.y || (c3 - s.x) % ${g.DW} != 0) { continue; }
      let d = select(count_(r, ${g.DH}) * count_(s, ${g.DW}), r.z * s.z, ${include} != 0);
      acc += g[${G('y', 'xo')}] / f32(d);`;
  const code = `${p.decl()}${binding(1, 'g', 'f32', false)}${binding(2, 'gin', 'f32', true)}${TAPS}${entry(64)}  if (i >= ${N}) { return; }
${dec}  var acc = 0.0;
${coveringWindows(g, body)}  gin[${GI('c2', 'c3')}] = acc;
}
`;
  runPerElement(rt, code, [gradOut, gradIn], p, n);
}
