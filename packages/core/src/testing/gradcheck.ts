// Gradient check by central finite differences in float64: the autograd gradient of
// L = sum_j sum(out_j * w_j) must match (L(x + eps e_i) - L(x - eps e_i)) / (2 eps) per element.
import * as k from '@kiln/core';
import { compareValues } from './compare.js';
import { type OpInfo, outputsOf, type Sample } from './opdb.js';
import { type HostTensor, materialize } from './samples.js';

/** Fixed upstream weights for each floating output, shared by autograd and finite differences. */
export function upstreamWeights(
  outputs: readonly k.Tensor[],
  device: string,
  dtype: k.DType,
): (k.Tensor | null)[] {
  return outputs.map((o, j) => {
    if (!k.isFloating(o.dtype)) return null;
    const n = o.numel();
    const w = new Float64Array(n);
    // Deterministic, non-symmetric weights so that errors cannot cancel.
    for (let i = 0; i < n; i++) w[i] = 0.5 + ((i * 7 + j * 3) % 11) / 10;
    return k
      .tensor(w, { dtype: 'float64' })
      .reshape([...o.shape])
      .to({ dtype, device });
  });
}

export function weightedLoss(
  outputs: readonly k.Tensor[],
  weights: readonly (k.Tensor | null)[],
): k.Tensor | null {
  let loss: k.Tensor | null = null;
  outputs.forEach((o, j) => {
    const w = weights[j];
    if (!w) return;
    const term = o.mul(w).sum();
    loss = loss ? loss.add(term) : term;
  });
  return loss;
}

function lossAt(op: OpInfo, sample: Sample, inputs: readonly HostTensor[], device: string): number {
  return k.tidy(() => {
    const ts = inputs.map((h) => materialize(h, device, 'float64'));
    const outs = outputsOf(op.run(ts, sample.args ?? {}));
    const loss = weightedLoss(outs, upstreamWeights(outs, device, 'float64'));
    return loss ? loss.itemSync() : 0;
  });
}

/** Returns null when autograd agrees with finite differences, else a description of the mismatch. */
export function gradcheck(op: OpInfo, sample: Sample, device: string, eps = 1e-6): string | null {
  return k.tidy(() => {
    const inputs = sample.inputs.map((h, i) => materialize(h, device, 'float64', op.gradInputs.includes(i)));
    const outs = outputsOf(op.run(inputs, sample.args ?? {}));
    const loss = weightedLoss(outs, upstreamWeights(outs, device, 'float64'));
    if (!loss?.requiresGrad) return null;
    const grads = k.grad(
      loss,
      op.gradInputs.map((i) => inputs[i]),
      { allowUnused: true },
    );
    for (let gi = 0; gi < op.gradInputs.length; gi++) {
      const idx = op.gradInputs[gi];
      const host = sample.inputs[idx];
      const numeric = new Float64Array(host.values.length);
      for (let e = 0; e < host.values.length; e++) {
        const shifted = (delta: number) => {
          const values = Float64Array.from(host.values);
          values[e] += delta;
          const hs = sample.inputs.map((h, j) => (j === idx ? { ...h, values } : h));
          return lossAt(op, sample, hs, device);
        };
        numeric[e] = (shifted(eps) - shifted(-eps)) / (2 * eps);
      }
      const g = grads[gi];
      const analytic = g ? Float64Array.from(g.dataSync() as Float64Array) : new Float64Array(numeric.length);
      const msg = compareValues(analytic, numeric, { rtol: 1e-4, atol: 1e-6 });
      if (msg) return `input ${idx}: autograd vs finite differences: ${msg}`;
    }
    return null;
  });
}
