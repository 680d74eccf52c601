// Layer norm as one op. Forward: a backend's fused kernel when it has one (one pass over each row),
// otherwise the same math from primitives; either way the op returns the normalised output and
// keeps each row's mean and 1/std for the backward rule, which is core's: a fused backward kernel
// when the backend has one, the formula from primitives otherwise. When the backward itself is
// differentiated (create_graph), the formula is rebuilt from x with differentiable ops, so
// higher-order gradients are exact.
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { backendOf, commonDevice, emptyTensor } from '../dispatch/dispatch.js';
import { isFloating } from '../dtype/dtype.js';
import { formatShape, numel, shapesEqual } from '../shape/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, mul, rsqrt, sub } from './elementwise.js';
import { mean, sum } from './reduction.js';
import { contiguous, reshape } from './shape.js';

function checkLayerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight: Tensor | null,
  bias: Tensor | null,
): void {
  const op = 'layerNorm';
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - k);
  if (k === 0 || x.ndim < k || tail.some((s, i) => s !== normalizedShape[i])) {
    throw new Error(
      `${op}: given normalized_shape=${formatShape(normalizedShape)}, expected input with shape [*, ${normalizedShape.join(', ')}], but got input of size ${formatShape(x.shape)}`,
    );
  }
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: expected a floating point input, got ${x.dtype}`);
  for (const [name, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (t && (t.ndim !== k || t.shape.some((s, i) => s !== normalizedShape[i])))
      throw new Error(
        `${op}: ${name} of shape ${formatShape(t.shape)} does not match normalized_shape=${formatShape(normalizedShape)}`,
      );
  }
  commonDevice(op, [x, weight, bias]);
}

/** [rows, n] view of x (contiguous); mean and rstd per row. */
function statistics(x2: Tensor, eps: number): [Tensor, Tensor] {
  return noGrad(() => {
    const m = mean(x2, 1);
    const centered = sub(x2, reshape(m, [-1, 1]));
    const variance = mean(mul(centered, centered), 1);
    const r = rsqrt(add(variance, eps));
    centered.dispose();
    variance.dispose();
    return [m, r];
  });
}

/**
 * (x - mean) / sqrt(var + eps) * weight + bias over the trailing `normalizedShape` dims (biased
 * variance), as torch.nn.functional.layer_norm.
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  checkLayerNorm(x, normalizedShape, weight, bias);
  const n = numel(normalizedShape);
  const rows = n === 0 ? 0 : x.numel() / n;
  const x2 = reshape(contiguous(x), [rows, n]);
  const w = weight ? reshape(contiguous(weight), [n]) : null;
  const b = bias ? reshape(contiguous(bias), [n]) : null;
  const backend = backendOf(x);
  let out2: Tensor;
  let m: Tensor;
  let r: Tensor;
  if (backend.fused.layerNorm && rows > 0 && n > 0) {
    out2 = emptyTensor([rows, n], x.dtype, x.device);
    m = emptyTensor([rows], x.dtype, x.device);
    r = emptyTensor([rows], x.dtype, x.device);
    backend.fused.layerNorm(
      x2.kernel,
      w?.kernel ?? null,
      b?.kernel ?? null,
      eps,
      out2.kernel,
      m.kernel,
      r.kernel,
    );
  } else {
    [m, r] = statistics(x2, eps);
    out2 = noGrad(() => {
      let y = mul(sub(x2, reshape(m, [-1, 1])), reshape(r, [-1, 1]));
      if (w) y = mul(y, w);
      if (b) y = add(y, b);
      return y;
    });
  }
  const out = reshape(out2, x.shape);
  return record(
    'NativeLayerNormBackward',
    out,
    [x, weight, bias],
    (g, saved, _out, needs) => {
      const [xs, ms, rs, ws] = saved;
      const weightSaved = w ? ws : null;
      const g2 = reshape(contiguous(g), [rows, n]);
      const fusedBackward = backendOf(g).fused.layerNormBackward;
      if (fusedBackward && !isGradEnabled()) {
        const gradIn = needs[0] ? emptyTensor([rows, n], g.dtype, g.device) : null;
        const gradW = needs[1] ? emptyTensor([n], g.dtype, g.device) : null;
        const gradB = needs[2] ? emptyTensor([n], g.dtype, g.device) : null;
        fusedBackward(
          g2.kernel,
          xs.kernel,
          weightSaved?.kernel ?? null,
          ms.kernel,
          rs.kernel,
          gradIn?.kernel ?? null,
          gradW?.kernel ?? null,
          gradB?.kernel ?? null,
        );
        // A gradient already in the parameter's shape goes as it is: a reshaped view of it would
        // share its memory, and the leaf would have to copy it instead of adopting it.
        const asParam = (t: Tensor | null) =>
          t && (shapesEqual(t.shape, normalizedShape) ? t : reshape(t, normalizedShape));
        return [gradIn && reshape(gradIn, x.shape), asParam(gradW), asParam(gradB)];
      }
      // The formula from primitives. Under create_graph the statistics are recomputed from x so
      // the result is differentiable in x; otherwise the saved ones are used.
      const [mu, rstd] = isGradEnabled() ? recomputed(xs, eps) : [reshape(ms, [-1, 1]), reshape(rs, [-1, 1])];
      const xhat = mul(sub(xs, mu), rstd);
      const gy = weightSaved ? mul(g2, weightSaved) : g2;
      const gradIn = needs[0]
        ? mul(rstd, sub(sub(gy, mean(gy, 1, true)), mul(xhat, mean(mul(gy, xhat), 1, true))))
        : null;
      return [
        gradIn && reshape(gradIn, x.shape),
        needs[1] ? reshape(sum(mul(g2, xhat), 0), normalizedShape) : null,
        needs[2] ? reshape(sum(g2, 0), normalizedShape) : null,
      ];
    },
    { save: [x2, m, r, ...(w ? [w] : [])] },
  );
}

/** Differentiable mean and 1/std per row of x2, as [rows, 1]. */
function recomputed(x2: Tensor, eps: number): [Tensor, Tensor] {
  const mu = mean(x2, 1, true);
  const centered = sub(x2, mu);
  return [mu, rsqrt(add(mean(mul(centered, centered), 1, true), eps))];
}
