// Cross entropy of rows of logits against class indices, as one op: a backend's fused kernels
// when it has them (one pass per row forward and backward, no [N, C] log-probabilities kept),
// otherwise logsumexp and gather from primitives. Backward rule in core; under create_graph it is
// rebuilt from differentiable ops so higher-order gradients are exact.
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { backendOf, castTo, commonDevice, emptyTensor } from '../dispatch/dispatch.js';
import { DEFAULT_INT, isFloating, isIntegral } from '../dtype/dtype.js';
import { formatShape } from '../shape/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { arange } from './creation.js';
import { add, eq, exp, mul, ne, sub, where } from './elementwise.js';
import { gather } from './indexing.js';
import { logsumexp, sum } from './reduction.js';
import { contiguous, reshape, unsqueeze } from './shape.js';

export interface CrossEntropyRowsOptions {
  /** Rows whose target is this get loss 0 and no gradient (default -100, as PyTorch). */
  ignoreIndex?: number;
  /** Label smoothing e in [0, 1] (default 0). */
  labelSmoothing?: number;
}

/**
 * Per-row cross entropy [N] of logits [N, C] against integer targets [N] (loss 0 on ignored
 * rows): lse - (1 - e) * logits[target] - e / C * sum(logits). nn's crossEntropy reduces it.
 */
export function crossEntropyRows(
  logits: Tensor,
  target: Tensor,
  options: CrossEntropyRowsOptions = {},
): Tensor {
  const op = 'crossEntropyRows';
  const ignoreIndex = options.ignoreIndex ?? -100;
  const e = options.labelSmoothing ?? 0;
  commonDevice(op, [logits, target]);
  if (logits.ndim !== 2 || target.ndim !== 1 || target.shape[0] !== logits.shape[0])
    throw new Error(
      `${op}: expected logits [N, C] and target [N], got ${formatShape(logits.shape)} and ${formatShape(target.shape)}`,
    );
  if (!isFloating(logits.dtype))
    throw new TypeError(`${op}: expected floating point logits, got ${logits.dtype}`);
  if (!isIntegral(target.dtype))
    throw new TypeError(`${op}: expected integer class indices, got ${target.dtype}`);
  if (!(e >= 0 && e <= 1)) throw new RangeError(`${op}: labelSmoothing must be in [0, 1] (got ${e})`);
  const [n, c] = logits.shape;
  const x = contiguous(logits);
  const t = castTo(target, DEFAULT_INT);
  const backend = backendOf(x);
  let loss: Tensor;
  let lse: Tensor;
  if (backend.fused.crossEntropy && n > 0 && c > 0) {
    loss = emptyTensor([n], x.dtype, x.device);
    lse = emptyTensor([n], x.dtype, x.device);
    backend.fused.crossEntropy(x.kernel, t.kernel, ignoreIndex, e, loss.kernel, lse.kernel);
  } else {
    [loss, lse] = noGrad(() => {
      const l = logsumexp(x, 1);
      return [rowLoss(x, t, l, ignoreIndex, e), l];
    });
  }
  return record(
    'CrossEntropyRowsBackward',
    loss,
    [logits],
    (g, [xs, ts, ls]) => {
      const fusedBackward = backendOf(g).fused.crossEntropyBackward;
      if (fusedBackward && !isGradEnabled()) {
        const grad = emptyTensor([n, c], g.dtype, g.device);
        fusedBackward(contiguous(g).kernel, xs.kernel, ts.kernel, ls.kernel, ignoreIndex, e, grad.kernel);
        return [grad];
      }
      // softmax - (1 - e) onehot - e / C, scaled by each row's gradient; 0 on ignored rows.
      const l = isGradEnabled() ? logsumexp(xs, 1) : ls;
      const p = exp(sub(xs, unsqueeze(l, 1)));
      const classes = arange(c, undefined, 1, { device: xs.device, dtype: ts.dtype });
      // In the logits' dtype: a float32 one-hot would round float64 gradients.
      const target = add(mul(castTo(eq(unsqueeze(ts, 1), classes), xs.dtype), 1 - e), e / c);
      const keep = unsqueeze(ne(ts, ignoreIndex), 1);
      return [where(keep, mul(sub(p, target), unsqueeze(g, 1)), 0)];
    },
    { save: [x, t, lse] },
  );
}

/** The forward formula from primitives (logits x [N, C], int32 targets t, row lse). */
function rowLoss(x: Tensor, t: Tensor, lse: Tensor, ignoreIndex: number, e: number): Tensor {
  const keep = ne(t, ignoreIndex);
  const safe = where(keep, t, 0);
  const picked = reshape(gather(x, 1, unsqueeze(safe, 1)), [-1]);
  let loss = sub(lse, mul(picked, 1 - e));
  if (e > 0) loss = sub(loss, mul(sum(x, 1), e / x.shape[1]));
  return where(keep, loss, 0);
}
