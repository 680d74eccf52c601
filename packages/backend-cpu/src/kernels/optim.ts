// One fused Adam / AdamW step over four contiguous same-dtype tensors (core's
// FusedKernels.adamStep), in one pass, with torch.optim's formulas and order of operations:
//   AdamW: p *= 1 - lr wd;  Adam: g += wd p
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   p += -lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
// float32 tensors: every operation rounded to float32 (Math.fround), as PyTorch's float32 Adam and
// core's composite of float32 ops compute it, and as the native kernel's 8-lane float32 loop does,
// bit for bit (each of + - * / sqrt in double, then rounded, is the float32 result). float64
// tensors: arithmetic in double.
import type { AdamHyper, KernelTensor } from '@kiln/core';
import { arrayOf } from '../buffer.js';

/** The per-step scalars of the update, computed once (the native kernel receives the same ones). */
export interface AdamConstants {
  /** 1 - lr wd for AdamW, 1 when there is no decoupled decay. */
  decay: number;
  /** wd for Adam's L2 term, 0 otherwise. */
  l2: number;
  beta1: number;
  beta2: number;
  /** -lr / (1 - beta1^step) */
  negStepSize: number;
  /** sqrt(1 - beta2^step) */
  biasCorrection2Sqrt: number;
  eps: number;
}

export function adamConstants(h: AdamHyper): AdamConstants {
  return {
    decay: h.decoupled && h.weightDecay !== 0 ? 1 - h.lr * h.weightDecay : 1,
    l2: h.decoupled ? 0 : h.weightDecay,
    beta1: h.beta1,
    beta2: h.beta2,
    negStepSize: -h.lr / (1 - h.beta1 ** h.step),
    biasCorrection2Sqrt: Math.sqrt(1 - h.beta2 ** h.step),
    eps: h.eps,
  };
}

export function adamStep(
  param: KernelTensor,
  grad: KernelTensor,
  expAvg: KernelTensor,
  expAvgSq: KernelTensor,
  hyper: AdamHyper,
): void {
  const { decay, l2, beta1, beta2, negStepSize, biasCorrection2Sqrt, eps } = adamConstants(hyper);
  const pa = arrayOf(param.buffer);
  const ga = arrayOf(grad.buffer);
  const ma = arrayOf(expAvg.buffer);
  const va = arrayOf(expAvgSq.buffer);
  const total = param.shape.reduce((a, b) => a * b, 1);
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  const [po, go, mo, vo] = [param.offset, grad.offset, expAvg.offset, expAvgSq.offset];
  if (param.dtype === 'float32') {
    const f = Math.fround;
    const [d, w, b1, b2, f1, f2, s, bc, ep] = [
      decay,
      l2,
      beta1,
      beta2,
      c1,
      c2,
      negStepSize,
      biasCorrection2Sqrt,
      eps,
    ].map(f);
    for (let e = 0; e < total; e++) {
      const p = f(pa[po + e] * d);
      const g = w !== 0 ? f(ga[go + e] + f(p * w)) : ga[go + e];
      const m = f(f(b1 * ma[mo + e]) + f(f1 * g));
      const v = f(f(b2 * va[vo + e]) + f(f2 * f(g * g)));
      ma[mo + e] = m;
      va[vo + e] = v;
      pa[po + e] = f(p + f(s * f(m / f(f(f(Math.sqrt(v)) / bc) + ep))));
    }
    return;
  }
  for (let e = 0; e < total; e++) {
    const p = pa[po + e] * decay;
    // Adam's L2 term only when there is one: g + 0 * p would turn an infinite p into NaN.
    const g = l2 !== 0 ? ga[go + e] + p * l2 : ga[go + e];
    ma[mo + e] = beta1 * ma[mo + e] + c1 * g;
    va[vo + e] = beta2 * va[vo + e] + c2 * (g * g);
    pa[po + e] = p + negStepSize * (ma[mo + e] / (Math.sqrt(va[vo + e]) / biasCorrection2Sqrt + eps));
  }
}
