// The fused Adam / AdamW step: one elementwise kernel reads param, grad, exp_avg and exp_avg_sq
// once and writes the three updated tensors, in place of a dozen elementwise passes.
import type { AdamHyper, KernelTensor } from '@kiln/core';
import { numel } from '@kiln/core';
import { type GpuBuffer, grid, type Runtime } from '../runtime.js';
import { binding, entry, Params } from '../wgsl.js';
import { storeAs } from './elementwise.js';

const WG = 256;

/**
 * torch.optim.Adam / AdamW's single-tensor update (FusedKernels.adamStep), in the operation order
 * of core's composite: the bias corrections, the step size lr / (1 - beta1^step) and the decay
 * factor 1 - lr * weightDecay are computed on the host in float64. No weight decay means no
 * decay term at all (not a multiply by 1 or an add of 0 * param, which would turn an infinite
 * parameter into NaN), so the three cases are three pipelines.
 */
export function adamStep(
  rt: Runtime,
  param: KernelTensor,
  grad: KernelTensor,
  expAvg: KernelTensor,
  expAvgSq: KernelTensor,
  h: AdamHyper,
): void {
  const n = numel(param.shape);
  if (n === 0) return;
  const p = new Params();
  const [N, po, go, mo, vo] = p.ints([n, param.offset, grad.offset, expAvg.offset, expAvgSq.offset]);
  const beta1 = p.float(h.beta1);
  const oneMinusBeta1 = p.float(1 - h.beta1);
  const beta2 = p.float(h.beta2);
  const oneMinusBeta2 = p.float(1 - h.beta2);
  const bc2Sqrt = p.float(Math.sqrt(1 - h.beta2 ** h.step));
  const eps = p.float(h.eps);
  const negStepSize = p.float(-h.lr / (1 - h.beta1 ** h.step));
  let decay = '';
  if (h.weightDecay !== 0) {
    decay = h.decoupled
      ? `  pv = ${storeAs(param.dtype, [`pv * ${p.float(1 - h.lr * h.weightDecay)}`, 'f32'])};\n`
      : `  gv = ${storeAs(grad.dtype, [`gv + pv * ${p.float(h.weightDecay)}`, 'f32'])};\n`;
  }
  const code = `${p.decl()}${binding(1, 'param', 'f32', true)}${binding(2, 'grad', 'f32', false)}${binding(3, 'expAvg', 'f32', true)}${binding(4, 'expAvgSq', 'f32', true)}${entry(WG)}  if (i >= ${N}) { return; }
  var pv = param[${po} + i];
  var gv = grad[${go} + i];
${decay}  let m = ${storeAs(expAvg.dtype, [`expAvg[${mo} + i] * ${beta1} + gv * ${oneMinusBeta1}`, 'f32'])};
  let v = ${storeAs(expAvgSq.dtype, [`expAvgSq[${vo} + i] * ${beta2} + (gv * gv) * ${oneMinusBeta2}`, 'f32'])};
  let denom = sqrt(v) / ${bc2Sqrt} + ${eps};
  expAvg[${mo} + i] = m;
  expAvgSq[${vo} + i] = v;
  param[${po} + i] = ${storeAs(param.dtype, [`pv + (m / denom) * ${negStepSize}`, 'f32'])};
}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: [param, grad, expAvg, expAvgSq].map((t) => t.buffer as GpuBuffer),
    params: p.values,
    workgroups: grid(Math.ceil(n / WG)),
  });
}
