// Fused cross entropy over logits [N, C] against int32 class indices [N]: the forward is one
// workgroup per row (a max tree, then one tree carrying sum(exp(x - max)) and sum(x)); the
// backward is one elementwise kernel over [N, C] that reads each row's saved log-sum-exp.
//
// Out-of-range targets: a kernel cannot raise the CPU's `target T is out of bounds`, so the forward
// reports it through the runtime's error buffer (src/bounds.ts) and the next read raises it. The
// row itself is treated as ignored (loss 0, gradient 0), so nothing is read out of bounds.
import type { KernelTensor } from '@kiln/core';
import { numel } from '@kiln/core';
import { boundsBinding, reportOutOfBounds } from '../bounds.js';
import { type GpuBuffer, grid, type Runtime } from '../runtime.js';
import { binding, entry, FLOAT_PRELUDE, Params } from '../wgsl.js';
import { storeAs } from './elementwise.js';

const ROW_WG = 64;
const WG = 256;

/** A tree over `sh` (vec2 partials) with `combine`: every invocation leaves with the result in `name`. */
function vec2Tree(name: string, value: string, combine: (a: string, b: string) => string): string {
  return `  sh[lid] = ${value};
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { sh[lid] = ${combine('sh[lid]', 'sh[lid + s]')}; }
    workgroupBarrier();
  }
  let ${name} = sh[0];
  workgroupBarrier();
`;
}

/**
 * The class that counts as ignored besides out-of-range ones: an ignoreIndex outside [0, C) can
 * only match targets that are ignored as out of range anyway, so it is passed as -1.
 */
function ignoredClass(ignoreIndex: number, classes: number): number {
  return Number.isInteger(ignoreIndex) && ignoreIndex >= 0 && ignoreIndex < classes ? ignoreIndex : -1;
}

/**
 * loss[i] = lse_i - (1 - e) x[i, t_i] - e / C * sum_c x[i, c] (FusedKernels.crossEntropy), in the
 * operation order of core's composite; with e = 0 the row sum is not used at all (an infinite
 * logit elsewhere in the row must not turn the loss into NaN), so e = 0 and e > 0 are two
 * pipelines. The max shift is 0 for a row whose max is infinite, as in the fused logsumexp.
 */
export function crossEntropy(
  rt: Runtime,
  logits: KernelTensor,
  target: KernelTensor,
  ignoreIndex: number,
  labelSmoothing: number,
  loss: KernelTensor,
  lse: KernelTensor,
): void {
  const [n, c] = logits.shape;
  if (n === 0 || c === 0) return;
  const p = new Params();
  const [R, C, xo, to, ts, lo, so, ig, rawIgnore] = p.ints([
    n,
    c,
    logits.offset,
    target.offset,
    target.strides[0],
    loss.offset,
    lse.offset,
    ignoredClass(ignoreIndex, c),
    ignoreIndex,
  ]);
  let rowLoss = `l - x[xr + t] * ${p.float(1 - labelSmoothing)}`;
  if (labelSmoothing > 0) rowLoss = `(${rowLoss}) - s.y * ${p.float(labelSmoothing / c)}`;
  const code = `${p.decl()}${binding(1, 'x', 'f32', false)}${binding(2, 'tgt', 'i32', false)}${binding(3, 'loss', 'f32', true)}${binding(4, 'lse', 'f32', true)}${boundsBinding(5)}${FLOAT_PRELUDE}
var<workgroup> sh: array<vec2<f32>, ${ROW_WG}>;
${entry(ROW_WG)}  if (wg >= ${R}) { return; }
  let xr = ${xo} + wg * ${C};
  var mx = -inf_();
  for (var k = i32(lid); k < ${C}; k += ${ROW_WG}) { mx = max_(mx, x[xr + k]); }
${vec2Tree('top', 'vec2<f32>(mx, 0.0)', (a, b) => `vec2<f32>(max_(${a}.x, ${b}.x), 0.0)`)}  let shift = select(top.x, 0.0, abs(top.x) == inf_());
  var acc = vec2<f32>(0.0);
  for (var k = i32(lid); k < ${C}; k += ${ROW_WG}) { let v = x[xr + k]; acc += vec2<f32>(exp(v - shift), v); }
${vec2Tree('s', 'acc', (a, b) => `${a} + ${b}`)}  if (lid == 0u) {
    let l = log(s.x) + shift;
    lse[${so} + wg] = ${storeAs(lse.dtype, ['l', 'f32'])};
    let t = tgt[${to} + wg * ${ts}];
    var r = 0.0;
    if (t >= 0 && t < ${C} && t != ${ig}) { r = ${rowLoss}; }
    else if (t != ${rawIgnore}) { ${reportOutOfBounds('crossEntropyRows', 't', C)} }
    loss[${lo} + wg] = ${storeAs(loss.dtype, ['r', 'f32'])};
  }
}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: [...[logits, target, loss, lse].map((t) => t.buffer as GpuBuffer), rt.boundsBuffer()],
    params: p.values,
    workgroups: grid(n),
  });
}

/**
 * gradLogits[i, c] = (exp(x[i, c] - lse[i]) - ((1 - e) [c = t_i] + e / C)) * gradLoss[i], and 0
 * on ignored rows (FusedKernels.crossEntropyBackward): core's composite, term for term.
 */
export function crossEntropyBackward(
  rt: Runtime,
  gradLoss: KernelTensor,
  logits: KernelTensor,
  target: KernelTensor,
  lse: KernelTensor,
  ignoreIndex: number,
  labelSmoothing: number,
  gradLogits: KernelTensor,
): void {
  const total = numel(logits.shape);
  if (total === 0) return;
  const c = logits.shape[1];
  const p = new Params();
  const [NC, C, go, xo, to, ts, lo, gi, ig] = p.ints([
    total,
    c,
    gradLoss.offset,
    logits.offset,
    target.offset,
    target.strides[0],
    lse.offset,
    gradLogits.offset,
    ignoredClass(ignoreIndex, c),
  ]);
  const onTarget = p.float(1 - labelSmoothing);
  const smooth = p.float(labelSmoothing / c);
  const code = `${p.decl()}${binding(1, 'g', 'f32', false)}${binding(2, 'x', 'f32', false)}${binding(3, 'tgt', 'i32', false)}${binding(4, 'lse', 'f32', false)}${binding(5, 'gx', 'f32', true)}${entry(WG)}  if (i >= ${NC}) { return; }
  let row = i / ${C};
  let col = i % ${C};
  let t = tgt[${to} + row * ${ts}];
  var r = 0.0;
  if (t >= 0 && t < ${C} && t != ${ig}) {
    let hit = select(0.0, ${onTarget}, col == t);
    r = (exp(x[${xo} + i] - lse[${lo} + row]) - (hit + ${smooth})) * g[${go} + row];
  }
  gx[${gi} + i] = ${storeAs(gradLogits.dtype, ['r', 'f32'])};
}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: [gradLoss, logits, target, lse, gradLogits].map((t) => t.buffer as GpuBuffer),
    params: p.values,
    workgroups: grid(Math.ceil(total / WG)),
  });
}
