// Fused cross entropy over the rows of contiguous [N, C] logits (core's FusedKernels.crossEntropy
// and crossEntropyBackward): per row one pass for the max (and, with label smoothing, the sum of
// the logits), one for the sum of exp(x - max); everything in double. Float32 and float64.
import type { KernelTensor } from '@kiln/core';
import { arrayOf } from '../buffer.js';

/** Throws core's message for a target outside [0, C) other than ignoreIndex; before any write. */
export function checkTargets(target: KernelTensor, classes: number, ignoreIndex: number): void {
  const ta = arrayOf(target.buffer);
  const rows = target.shape[0];
  for (let r = 0; r < rows; r++) {
    const t = ta[target.offset + r];
    if (t !== ignoreIndex && !(t >= 0 && t < classes))
      throw new RangeError(`crossEntropyRows: target ${t} is out of bounds for ${classes} classes`);
  }
}

/** loss[i] = lse_i - (1 - e) x[i, t_i] - e / C sum_c x[i, c] (0 where t_i = ignoreIndex). */
export function crossEntropy(
  logits: KernelTensor,
  target: KernelTensor,
  ignoreIndex: number,
  labelSmoothing: number,
  loss: KernelTensor,
  lse: KernelTensor,
): void {
  const [rows, c] = logits.shape;
  checkTargets(target, c, ignoreIndex);
  const xa = arrayOf(logits.buffer);
  const ta = arrayOf(target.buffer);
  const la = arrayOf(loss.buffer);
  const sa = arrayOf(lse.buffer);
  const e = labelSmoothing;
  for (let r = 0; r < rows; r++) {
    const xo = logits.offset + r * c;
    let max = Number.NEGATIVE_INFINITY;
    let total = 0;
    for (let k = 0; k < c; k++) {
      const v = xa[xo + k];
      if (v > max || v !== v) max = v;
      total += v;
    }
    // An all -inf (or a +inf) row: shift by 0, as the fused logsumexp does.
    const shift = max === Number.NEGATIVE_INFINITY || max === Number.POSITIVE_INFINITY ? 0 : max;
    let sum = 0;
    for (let k = 0; k < c; k++) sum += Math.exp(xa[xo + k] - shift);
    const l = Math.log(sum) + shift;
    sa[lse.offset + r] = l;
    const t = ta[target.offset + r];
    if (t === ignoreIndex) {
      la[loss.offset + r] = 0;
      continue;
    }
    let v = l - (1 - e) * xa[xo + t];
    if (e > 0) v -= (e / c) * total;
    la[loss.offset + r] = v;
  }
}

/** gradLogits[i, c] = gradLoss[i] (exp(x[i, c] - lse_i) - (1 - e) [c = t_i] - e / C); 0 on ignored rows. */
export function crossEntropyBackward(
  gradLoss: KernelTensor,
  logits: KernelTensor,
  target: KernelTensor,
  lse: KernelTensor,
  ignoreIndex: number,
  labelSmoothing: number,
  gradLogits: KernelTensor,
): void {
  const [rows, c] = logits.shape;
  const ga = arrayOf(gradLoss.buffer);
  const xa = arrayOf(logits.buffer);
  const ta = arrayOf(target.buffer);
  const sa = arrayOf(lse.buffer);
  const oa = arrayOf(gradLogits.buffer);
  const uniform = labelSmoothing / c;
  for (let r = 0; r < rows; r++) {
    const xo = logits.offset + r * c;
    const oo = gradLogits.offset + r * c;
    const t = ta[target.offset + r];
    if (t === ignoreIndex) {
      oa.fill(0, oo, oo + c);
      continue;
    }
    const g = ga[gradLoss.offset + r];
    const l = sa[lse.offset + r];
    for (let k = 0; k < c; k++) oa[oo + k] = g * (Math.exp(xa[xo + k] - l) - uniform);
    if (t >= 0 && t < c) oa[oo + t] = g * (Math.exp(xa[xo + t] - l) - (1 - labelSmoothing) - uniform);
  }
}
