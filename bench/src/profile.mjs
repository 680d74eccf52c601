// `node src/profile.mjs W5 [steps]`: where a Kiln workload's step spends its time, kernel by
// kernel. The CPU backend is registered with every function of it (and of its `fused` kernels)
// wrapped in a timer, the workload's first case is set up and warmed up, and then `steps` steps
// are timed: the step's wall time, the time inside kernel calls, and per kernel (per operand
// shapes for matmul and linear) its calls and milliseconds per step. Kernel time includes deferred
// work a kernel's inputs trigger (a pending fused elementwise program runs when a kernel reads its
// buffer), so treat a slow row as a place to look, not a verdict. Not a benchmark: the timers
// perturb the step; `pnpm bench` gives the figures.

import { createCpuBackend } from '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { WORKLOADS } from './workloads/index.mjs';

/** @typedef {{ calls: number, ms: number }} Row */

const [id = 'W5', stepsArg = '10'] = process.argv.slice(2).filter((a) => a !== '--');
const steps = Number(stepsArg);
const workload = WORKLOADS.find((w) => w.id === id);
if (workload?.kind !== 'kiln' || !(steps > 0)) {
  const ids = WORKLOADS.filter((w) => w.kind === 'kiln').map((w) => w.id);
  console.error(`usage: node src/profile.mjs <${ids.join('|')}> [steps > 0]`);
  process.exit(2);
}

/** @type {Map<string, Row>} */
const rows = new Map();
let timing = false;

/** @param {unknown} t */
const layout = (t) => {
  const kt = /** @type {{ shape?: number[], strides?: number[] }} */ (t);
  return kt?.shape ? `[${kt.shape}]s[${kt.strides}]` : '';
};

/**
 * Replaces each function of `obj` with a timed call of it.
 * @param {Record<string, unknown>} obj
 * @param {string} prefix
 */
function wrap(obj, prefix) {
  for (const [name, fn] of Object.entries(obj)) {
    if (typeof fn !== 'function') continue;
    obj[name] = /** @param {unknown[]} args */ (...args) => {
      if (!timing) return fn.apply(obj, args);
      const t0 = performance.now();
      const result = fn.apply(obj, args);
      const ms = performance.now() - t0;
      const byShape = name === 'matmul' || name === 'linear';
      const label = `${prefix}${name}${byShape ? ` ${layout(args[0])} x ${layout(args[1])}` : ''}`;
      const row = rows.get(label) ?? { calls: 0, ms: 0 };
      row.calls++;
      row.ms += ms;
      rows.set(label, row);
      return result;
    };
  }
}

const backend = createCpuBackend({});
wrap(/** @type {Record<string, unknown>} */ (/** @type {unknown} */ (backend)), '');
wrap(/** @type {Record<string, unknown>} */ (backend.fused), 'fused.');
k.registerBackend('cpu', () => backend);

const kase = workload.cases({})[0];
const prepared = await workload.setup(kase.params);
const runOnce = async () => {
  const out = await k.tidy(() => prepared.step());
  const list = Array.isArray(out) ? out : [out];
  for (const t of list) await t.data();
  k.dispose(list);
};
for (let i = 0; i < Math.max(3, steps); i++) await runOnce();
timing = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) await runOnce();
const stepMs = (performance.now() - t0) / steps;
timing = false;
prepared.dispose();

const sorted = [...rows].sort((a, b) => b[1].ms - a[1].ms);
const inKernels = sorted.reduce((sum, [, r]) => sum + r.ms, 0) / steps;
console.log(
  `${workload.id} ${kase.label}: step ${stepMs.toFixed(3)} ms, in kernel calls ${inKernels.toFixed(3)} ms`,
);
console.log('  ms/step  calls/step  kernel');
for (const [label, r] of sorted) {
  console.log(`${(r.ms / steps).toFixed(3).padStart(9)}  ${String(r.calls / steps).padStart(10)}  ${label}`);
}
