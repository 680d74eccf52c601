// One Adam / AdamW parameter update as a single op, so a backend can run it as one kernel over
// the four tensors instead of a dozen elementwise passes (torch.optim's "fused" Adam). Without
// the kernel the same update runs from primitives. No autograd: it is an optimizer step.
import { noGrad } from '../autograd/grad-mode.js';
import type { AdamHyper } from '../backend/kernels.js';
import { backendOf, commonDevice } from '../dispatch/dispatch.js';
import { isFloating } from '../dtype/dtype.js';
import { formatShape, shapesEqual } from '../shape/shape.js';
import { tidy } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';
import { add, div, mul, sqrt } from './elementwise.js';
import { add_, mul_ } from './inplace.js';
import { isContiguousTensor } from './shape.js';

/**
 * Updates `param`, `expAvg` and `expAvgSq` in place with one Adam (`decoupled: false`) or AdamW
 * step, as torch.optim computes it (see FusedKernels.adamStep for the formulas).
 */
export function adamStep_(
  param: Tensor,
  grad: Tensor,
  expAvg: Tensor,
  expAvgSq: Tensor,
  hyper: AdamHyper,
): void {
  const op = 'adamStep_';
  commonDevice(op, [param, grad, expAvg, expAvgSq]);
  for (const [name, t] of [
    ['grad', grad],
    ['expAvg', expAvg],
    ['expAvgSq', expAvgSq],
  ] as const) {
    if (!shapesEqual(t.shape, param.shape))
      throw new Error(
        `${op}: ${name} has shape ${formatShape(t.shape)}, the parameter ${formatShape(param.shape)}`,
      );
  }
  if (!isFloating(param.dtype))
    throw new TypeError(`${op}: expected a floating point parameter, got ${param.dtype}`);
  if (!(Number.isInteger(hyper.step) && hyper.step >= 1))
    throw new RangeError(`${op}: step must be a positive integer (got ${hyper.step})`);
  const backend = backendOf(param);
  const fused = backend.fused.adamStep;
  const all = [param, grad, expAvg, expAvgSq];
  if (fused && param.numel() > 0 && all.every((t) => isContiguousTensor(t) && t.dtype === param.dtype)) {
    fused(param.kernel, grad.kernel, expAvg.kernel, expAvgSq.kernel, hyper);
    for (const t of [param, expAvg, expAvgSq]) t.storage.version++;
    return;
  }
  const { lr, beta1, beta2, eps, weightDecay, decoupled, step } = hyper;
  noGrad(() =>
    tidy(() => {
      let g = grad;
      if (weightDecay !== 0) {
        if (decoupled) mul_(param, 1 - lr * weightDecay);
        else g = add(g, mul(param, weightDecay));
      }
      add_(mul_(expAvg, beta1), g, 1 - beta1);
      add_(mul_(expAvgSq, beta2), mul(g, g), 1 - beta2);
      const denom = add(div(sqrt(expAvgSq), Math.sqrt(1 - beta2 ** step)), eps);
      add_(param, div(expAvg, denom), -lr / (1 - beta1 ** step));
    }),
  );
}
