// softmax and log-softmax: a backend's fused kernel when it has one (one pass, stable), otherwise
// the max-shifted composite. The backward rule is the same either way.
import { noGrad } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { backendOf, castTo, emptyTensor } from '../dispatch/dispatch.js';
import { toFloating } from '../dtype/dtype.js';
import { normalizeDim } from '../shape/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { exp, mul, sub } from './elementwise.js';
import { amax, logsumexp, sum } from './reduction.js';

function fusedOrComposite(name: 'softmax' | 'logSoftmax', x: Tensor, d: number): Tensor {
  const xf = castTo(x, toFloating(x.dtype));
  const backend = backendOf(xf);
  const fused = backend.fused[name];
  let out: Tensor;
  if (fused && xf.ndim > 0) {
    out = emptyTensor(xf.shape, xf.dtype, xf.device);
    fused(xf.kernel, d, out.kernel);
  } else {
    out = noGrad(() => {
      if (name === 'logSoftmax') {
        const lse = logsumexp(xf, d, true);
        const r = sub(xf, lse);
        lse.dispose();
        return r;
      }
      const m = amax(xf, d, true);
      const shifted = sub(xf, m);
      const e = exp(shifted);
      const s = sum(e, d, true);
      const r = e.div(s);
      for (const t of [m, shifted, e, s]) t.dispose();
      return r;
    });
  }
  if (xf !== x) xf.dispose();
  return out;
}

export function softmax(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('softmax', dim, x.ndim);
  const out = fusedOrComposite('softmax', x, d);
  // dx = y * (g - sum(g * y))
  return record('SoftmaxBackward', out, [x], (g, _s, y) => [mul(y!, sub(g, sum(mul(g, y!), d, true)))], {
    saveOutput: true,
  });
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('logSoftmax', dim, x.ndim);
  const out = fusedOrComposite('logSoftmax', x, d);
  // dx = g - exp(y) * sum(g)
  return record('LogSoftmaxBackward', out, [x], (g, _s, y) => [sub(g, mul(exp(y!), sum(g, d, true)))], {
    saveOutput: true,
  });
}
