// Fused scaled-dot-product attention for contiguous q [B, H, L, E], k [B, H, S, E], v [B, H, S, Ev]
// (core's FusedKernels.attention and attentionBackward), one query row at a time with its S scores
// in a double scratch row; all arithmetic in double. The native path runs float32 in the addon and
// every other dtype (float64) here, so the two agree on one contract.
import type { KernelTensor } from '@kiln/core';
import { finfo } from '@kiln/core';
import { arrayOf } from '../buffer.js';

/** The geometry shared by both directions, and `fill`, which writes one query's masked, scaled scores. */
function queryRows(
  q: KernelTensor,
  k: KernelTensor,
  mask: KernelTensor | null,
  scale: number,
  causal: boolean,
) {
  const [b, h, l, e] = q.shape;
  const s = k.shape[2];
  const qa = arrayOf(q.buffer);
  const ka = arrayOf(k.buffer);
  const ma = mask ? arrayOf(mask.buffer) : null;
  const ms = mask?.strides ?? [0, 0, 0, 0];
  // Masked scores take the dtype's most negative finite value, not -inf (Hugging Face's convention).
  const lowest = finfo(q.dtype).min;
  const scores = new Float64Array(s);
  /** Fills `scores` for query i of head bh = b * H + h; false when every key is masked. */
  const fill = (bh: number, i: number): boolean => {
    const qo = q.offset + (bh * l + i) * e;
    // The queries are the last L of S positions (a key/value cache): query i sees keys up to i + S - L.
    const last = causal ? i + s - l : s - 1;
    const mo = (mask?.offset ?? 0) + Math.floor(bh / h) * ms[0] + (bh % h) * ms[1] + i * ms[2];
    let any = false;
    for (let j = 0; j < s; j++) {
      if (j > last || (ma !== null && ma[mo + j * ms[3]] === 0)) {
        scores[j] = lowest;
        continue;
      }
      const ko = k.offset + (bh * s + j) * e;
      let dot = 0;
      for (let c = 0; c < e; c++) dot += qa[qo + c] * ka[ko + c];
      scores[j] = dot * scale;
      any = true;
    }
    return any;
  };
  return { heads: b * h, l, s, e, qa, ka, scores, fill };
}

/** out = softmax(scores) v and lse = log-sum-exp of the scores, per query row. */
export function attention(
  q: KernelTensor,
  k: KernelTensor,
  v: KernelTensor,
  mask: KernelTensor | null,
  scale: number,
  causal: boolean,
  out: KernelTensor,
  lse: KernelTensor,
): void {
  const { heads, l, s, scores, fill } = queryRows(q, k, mask, scale, causal);
  const ev = v.shape[3];
  const va = arrayOf(v.buffer);
  const oa = arrayOf(out.buffer);
  const la = arrayOf(lse.buffer);
  const acc = new Float64Array(ev);
  for (let bh = 0; bh < heads; bh++) {
    for (let i = 0; i < l; i++) {
      fill(bh, i);
      // A query with every key masked has max = lowest and weighs each key exp(0) = 1: 1 / S.
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < s; j++) if (scores[j] > max || scores[j] !== scores[j]) max = scores[j];
      let sum = 0;
      acc.fill(0);
      for (let j = 0; j < s; j++) {
        const p = Math.exp(scores[j] - max);
        sum += p;
        const vo = v.offset + (bh * s + j) * ev;
        for (let c = 0; c < ev; c++) acc[c] += p * va[vo + c];
      }
      const oo = out.offset + (bh * l + i) * ev;
      for (let c = 0; c < ev; c++) oa[oo + c] = acc[c] / sum;
      la[lse.offset + bh * l + i] = max + Math.log(sum);
    }
  }
}

/**
 * With P = exp(scores - lse) (1 / S where every key is masked, as in the forward):
 * dV = P^T dO, dS = P (dO V^T - rowsum(dO out)) scale, dQ = dS K, dK = dS^T Q.
 */
export function attentionBackward(
  gradOut: KernelTensor,
  q: KernelTensor,
  k: KernelTensor,
  v: KernelTensor,
  mask: KernelTensor | null,
  scale: number,
  causal: boolean,
  out: KernelTensor,
  lse: KernelTensor,
  gradQ: KernelTensor | null,
  gradK: KernelTensor | null,
  gradV: KernelTensor | null,
): void {
  const { heads, l, s, e, qa, ka, scores, fill } = queryRows(q, k, mask, scale, causal);
  const ev = v.shape[3];
  const ga = arrayOf(gradOut.buffer);
  const va = arrayOf(v.buffer);
  const oa = arrayOf(out.buffer);
  const la = arrayOf(lse.buffer);
  const dq = new Float64Array(e);
  const dk = new Float64Array(s * e);
  const dv = new Float64Array(s * ev);
  for (let bh = 0; bh < heads; bh++) {
    dk.fill(0);
    dv.fill(0);
    for (let i = 0; i < l; i++) {
      const any = fill(bh, i);
      const rowLse = la[lse.offset + bh * l + i];
      const go = gradOut.offset + (bh * l + i) * ev;
      const oo = out.offset + (bh * l + i) * ev;
      const qo = q.offset + (bh * l + i) * e;
      let delta = 0;
      for (let c = 0; c < ev; c++) delta += ga[go + c] * oa[oo + c];
      dq.fill(0);
      for (let j = 0; j < s; j++) {
        const p = any ? Math.exp(scores[j] - rowLse) : 1 / s;
        const vo = v.offset + (bh * s + j) * ev;
        let dp = 0;
        for (let c = 0; c < ev; c++) {
          dp += ga[go + c] * va[vo + c];
          dv[j * ev + c] += p * ga[go + c];
        }
        const ds = p * (dp - delta) * scale;
        const ko = k.offset + (bh * s + j) * e;
        for (let c = 0; c < e; c++) {
          dq[c] += ds * ka[ko + c];
          dk[j * e + c] += ds * qa[qo + c];
        }
      }
      if (gradQ) arrayOf(gradQ.buffer).set(dq, gradQ.offset + (bh * l + i) * e);
    }
    if (gradK) arrayOf(gradK.buffer).set(dk, gradK.offset + bh * s * e);
    if (gradV) arrayOf(gradV.buffer).set(dv, gradV.offset + bh * s * ev);
  }
}
