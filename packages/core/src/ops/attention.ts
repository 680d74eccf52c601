// Scaled dot-product attention as one op. Forward: a backend's fused kernel when it has one (no
// [L, S] score matrix written to memory on GPUs; one pass per query row), otherwise the same math
// from primitives. Backward: the backend's fused kernel when it has one (it recomputes the weights
// from the forward's log-sum-exp tile by tile), otherwise core's rule from primitives, which also
// recomputes the weights from q and k rather than keeping them (as FlashAttention does):
//   P = softmax(S), dV = P^T dO, dP = dO V^T, dS = P * (dP - rowsum(dO * O)),
//   dQ = dS K * scale, dK = dS^T Q * scale.
// Masked scores take the dtype's most negative finite value (Hugging Face's convention, not
// -inf), so a query with no allowed key averages the values instead of producing NaN.
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { backendOf, broadcastKernel, commonDevice, emptyTensor } from '../dispatch/dispatch.js';
import { finfo, isFloating } from '../dtype/dtype.js';
import { broadcastShapes, formatShape } from '../shape/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { softmax } from './activation.js';
import { arange } from './creation.js';
import { le, logicalAnd, mul, sub, where } from './elementwise.js';
import { matmul } from './linalg.js';
import { sum } from './reduction.js';
import { contiguous, transpose, unsqueeze } from './shape.js';

export interface AttentionOptions {
  /** Boolean, broadcastable to [B, H, L, S]: true where the query may attend to the key. */
  mask?: Tensor | null;
  /** Keys after each query's own position are masked (queries are the last L of S positions). */
  causal?: boolean;
  /** Score scale (default 1 / sqrt(E)). */
  scale?: number;
}

/** Which keys each query may attend to, [B|1, H|1, L, S], or null when all may. */
function allowedKeys(
  mask: Tensor | null,
  causal: boolean,
  l: number,
  s: number,
  device: Tensor['device'],
): Tensor | null {
  if (!causal) return mask;
  const keys = unsqueeze(arange(s, undefined, 1, { device }), 0);
  const queries = unsqueeze(arange(s - l, s, 1, { device }), 1);
  const lower = le(keys, queries);
  return mask ? logicalAnd(mask, lower) : lower;
}

/**
 * softmax(q k^T * scale + masking) v for q [B, H, L, E], k [B, H, S, E], v [B, H, S, Ev]
 * -> [B, H, L, Ev].
 */
export function scaledDotProductAttention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  options: AttentionOptions = {},
): Tensor {
  const op = 'scaledDotProductAttention';
  const { mask = null, causal = false } = options;
  commonDevice(op, [q, k, v, mask]);
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4)
    throw new Error(
      `${op}: expected q, k, v of shape [B, H, L|S, E], got ${formatShape(q.shape)}, ${formatShape(k.shape)}, ${formatShape(v.shape)}`,
    );
  const [b, h, l, e] = q.shape;
  const s = k.shape[2];
  if (
    k.shape[0] !== b ||
    k.shape[1] !== h ||
    k.shape[3] !== e ||
    v.shape[0] !== b ||
    v.shape[1] !== h ||
    v.shape[2] !== s
  )
    throw new Error(
      `${op}: q ${formatShape(q.shape)}, k ${formatShape(k.shape)} and v ${formatShape(v.shape)} do not fit [B, H, L, E], [B, H, S, E], [B, H, S, Ev]`,
    );
  if (!isFloating(q.dtype) || q.dtype !== k.dtype || q.dtype !== v.dtype)
    throw new TypeError(
      `${op}: expected q, k, v of one floating point dtype, got ${q.dtype}, ${k.dtype}, ${v.dtype}`,
    );
  if (mask && mask.dtype !== 'bool') throw new TypeError(`${op}: expected a bool mask, got ${mask.dtype}`);
  if (
    mask &&
    (mask.ndim > 4 || broadcastShapes(op, mask.shape, [b, h, l, s]).some((d, i) => d !== [b, h, l, s][i]))
  )
    throw new Error(
      `${op}: mask of shape ${formatShape(mask.shape)} does not broadcast to ${formatShape([b, h, l, s])}`,
    );
  const scale = options.scale ?? 1 / Math.sqrt(e);
  if (causal && s < l)
    throw new Error(`${op}: a causal mask needs at least as many keys (${s}) as queries (${l})`);
  const ev = v.shape[3];
  const qc = contiguous(q);
  const kc = contiguous(k);
  const vc = contiguous(v);
  const backend = backendOf(q);
  const lowest = finfo(q.dtype).min;
  const maskKernel = () => (mask ? broadcastKernel(mask, [b, h, l, s]) : null);
  let out: Tensor;
  // The forward's log-sum-exp, kept for a fused backward when the backend has one.
  let lse: Tensor | null = null;
  if (backend.fused.attention && b * h * l > 0 && s > 0) {
    out = emptyTensor([b, h, l, ev], q.dtype, q.device);
    lse = emptyTensor([b, h, l], q.dtype, q.device);
    backend.fused.attention(
      qc.kernel,
      kc.kernel,
      vc.kernel,
      maskKernel(),
      scale,
      causal,
      out.kernel,
      lse.kernel,
    );
    if (!backend.fused.attentionBackward || !isGradEnabled() || ![q, k, v].some((t) => t.requiresGrad)) {
      lse.dispose();
      lse = null;
    }
  } else {
    out = noGrad(() => {
      const allowed = allowedKeys(mask, causal, l, s, q.device);
      let scores = mul(matmul(qc, transpose(kc, 2, 3)), scale);
      if (allowed) scores = where(allowed, scores, lowest);
      // softmax, not exp(scores - lse): where every key is masked, lse = lowest + log(S) rounds
      // back to lowest and exp(scores - lse) would give weights of 1, not 1/S.
      return matmul(softmax(scores, 3), vc);
    });
  }
  return record(
    'ScaledDotProductAttentionBackward',
    out,
    [q, k, v],
    (gOut, [qs, ks, vs, lses], os, needs) => {
      // Under create_graph the gradients must be differentiable: core's composite below.
      const graph = isGradEnabled();
      const fusedBackward = backendOf(qs).fused.attentionBackward;
      if (lses && fusedBackward && !graph) {
        const grads = [qs, ks, vs].map((t, i) => (needs[i] ? emptyTensor(t.shape, t.dtype, t.device) : null));
        const g = contiguous(gOut);
        fusedBackward(
          g.kernel,
          qs.kernel,
          ks.kernel,
          vs.kernel,
          maskKernel(),
          scale,
          causal,
          (os as Tensor).kernel,
          lses.kernel,
          grads[0]?.kernel ?? null,
          grads[1]?.kernel ?? null,
          grads[2]?.kernel ?? null,
        );
        return grads;
      }
      const allowed = allowedKeys(mask, causal, l, s, qs.device);
      let scores = mul(matmul(qs, transpose(ks, 2, 3)), scale);
      if (allowed) scores = where(allowed, scores, lowest);
      // The weights again from the scores (see the forward for why softmax and not exp(s - lse)).
      const p = softmax(scores, 3);
      const o = graph ? matmul(p, vs) : (os as Tensor);
      const dp = matmul(gOut, transpose(vs, 2, 3));
      const delta = sum(mul(gOut, o), 3, true);
      const ds = mul(p, sub(dp, delta));
      return [
        needs[0] ? mul(matmul(ds, ks), scale) : null,
        needs[1] ? mul(matmul(transpose(ds, 2, 3), qs), scale) : null,
        needs[2] ? matmul(transpose(p, 2, 3), gOut) : null,
      ];
    },
    { save: lse ? [qc, kc, vc, lse] : [qc, kc, vc], saveOutput: true },
  );
}
