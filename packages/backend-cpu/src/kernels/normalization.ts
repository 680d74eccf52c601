// Fused layer norm over the rows of a contiguous [rows, n] input (core's FusedKernels.layerNorm
// and layerNormBackward): per row one pass for the mean, one for the centred sum of squares (the
// two-pass variance, in double), one to write; the backward folds its two row reductions and the
// weight/bias column sums into two passes. Float32 and float64; all arithmetic in double.
import type { KernelTensor } from '@kiln/core';
import { arrayOf } from '../buffer.js';

export function layerNorm(
  x: KernelTensor,
  weight: KernelTensor | null,
  bias: KernelTensor | null,
  eps: number,
  out: KernelTensor,
  mean: KernelTensor,
  rstd: KernelTensor,
): void {
  const [rows, n] = x.shape;
  const xa = arrayOf(x.buffer);
  const oa = arrayOf(out.buffer);
  const ma = arrayOf(mean.buffer);
  const ra = arrayOf(rstd.buffer);
  const wa = weight ? arrayOf(weight.buffer) : null;
  const ba = bias ? arrayOf(bias.buffer) : null;
  const wo = weight?.offset ?? 0;
  const bo = bias?.offset ?? 0;
  for (let r = 0; r < rows; r++) {
    const xo = x.offset + r * n;
    const oo = out.offset + r * n;
    let s = 0;
    for (let k = 0; k < n; k++) s += xa[xo + k];
    const mu = s / n;
    let q = 0;
    for (let k = 0; k < n; k++) {
      const d = xa[xo + k] - mu;
      q += d * d;
    }
    // Biased variance, as torch.layer_norm.
    const rs = 1 / Math.sqrt(q / n + eps);
    ma[mean.offset + r] = mu;
    ra[rstd.offset + r] = rs;
    if (wa && ba) {
      for (let k = 0; k < n; k++) oa[oo + k] = (xa[xo + k] - mu) * rs * wa[wo + k] + ba[bo + k];
    } else if (wa) {
      for (let k = 0; k < n; k++) oa[oo + k] = (xa[xo + k] - mu) * rs * wa[wo + k];
    } else if (ba) {
      for (let k = 0; k < n; k++) oa[oo + k] = (xa[xo + k] - mu) * rs + ba[bo + k];
    } else {
      for (let k = 0; k < n; k++) oa[oo + k] = (xa[xo + k] - mu) * rs;
    }
  }
}

/**
 * gradIn = rstd (gy - mean(gy) - xhat mean(gy xhat)) with gy = gradOut * weight and
 * xhat = (x - mean) rstd; gradWeight = sum over rows of gradOut * xhat, gradBias = sum of gradOut.
 */
export function layerNormBackward(
  gradOut: KernelTensor,
  x: KernelTensor,
  weight: KernelTensor | null,
  mean: KernelTensor,
  rstd: KernelTensor,
  gradIn: KernelTensor | null,
  gradWeight: KernelTensor | null,
  gradBias: KernelTensor | null,
): void {
  const [rows, n] = x.shape;
  const ga = arrayOf(gradOut.buffer);
  const xa = arrayOf(x.buffer);
  const ma = arrayOf(mean.buffer);
  const ra = arrayOf(rstd.buffer);
  const wa = weight ? arrayOf(weight.buffer) : null;
  const wo = weight?.offset ?? 0;
  const ia = gradIn ? arrayOf(gradIn.buffer) : null;
  // Column sums in double, written once at the end.
  const sumW = gradWeight ? new Float64Array(n) : null;
  const sumB = gradBias ? new Float64Array(n) : null;
  for (let r = 0; r < rows; r++) {
    const go = gradOut.offset + r * n;
    const xo = x.offset + r * n;
    const mu = ma[mean.offset + r];
    const rs = ra[rstd.offset + r];
    if (ia && gradIn) {
      let s1 = 0;
      let s2 = 0;
      for (let k = 0; k < n; k++) {
        const gy = wa ? ga[go + k] * wa[wo + k] : ga[go + k];
        s1 += gy;
        s2 += gy * (xa[xo + k] - mu) * rs;
      }
      // gradIn = a gy - b - c xhat, with a = rstd, b = rstd mean(gy), c = rstd mean(gy xhat).
      const b = (rs * s1) / n;
      const c = (rs * s2) / n;
      const io = gradIn.offset + r * n;
      for (let k = 0; k < n; k++) {
        const gy = wa ? ga[go + k] * wa[wo + k] : ga[go + k];
        ia[io + k] = rs * gy - b - c * ((xa[xo + k] - mu) * rs);
      }
    }
    if (sumW) for (let k = 0; k < n; k++) sumW[k] += ga[go + k] * ((xa[xo + k] - mu) * rs);
    if (sumB) for (let k = 0; k < n; k++) sumB[k] += ga[go + k];
  }
  if (gradWeight && sumW) arrayOf(gradWeight.buffer).set(sumW, gradWeight.offset);
  if (gradBias && sumB) arrayOf(gradBias.buffer).set(sumB, gradBias.offset);
}
