// Times one case of a Kiln workload: setup, the harness's protocol over `step` (interleaved with a
// peer's repetitions of the same case, when given), then dispose, with the live-tensor count
// checked so that a leak shows up in the report instead of in the timings.
import * as k from '@kiln/core';
import { localSide, measureInterleaved } from './harness.mjs';

/**
 * @typedef {import('./harness.mjs').Measurement & { leakedTensors: number }} KilnMeasurement
 * @typedef {import('./harness.mjs').Side} Side
 */

/**
 * Times one case on Kiln (the 'cpu' device as registered now) and, in alternating blocks, on the
 * `peers` given (e.g. PyTorch's side of the same case): their measurements follow Kiln's.
 * @param {import('./workload').KilnWorkload} workload
 * @param {import('./workload').Case} c
 * @param {import('./harness.mjs').Policy} policy
 * @param {Side[]} [peers]
 * @returns {Promise<[KilnMeasurement, ...(import('./harness.mjs').Measurement | { error: string })[]]>}
 */
export async function measureKiln(workload, c, policy, peers = []) {
  const before = k.memory().tensors;
  const prepared = await workload.setup(c.params);
  const afterSetup = k.memory().tensors;
  const runOnce = async () => {
    // Everything `step` makes is disposed by tidy except what it returns, which is read back (so
    // an asynchronous backend's queued work is timed) and then disposed here.
    const out = await k.tidy(() => prepared.step());
    const list = Array.isArray(out) ? out : [out];
    for (const t of list) await t.data();
    k.dispose(list);
  };
  try {
    const [m, ...others] = await measureInterleaved([localSide(runOnce), ...peers], policy);
    if ('error' in m) throw new Error(String(m.error));
    return [{ ...m, leakedTensors: k.memory().tensors - afterSetup }, ...others];
  } finally {
    prepared.dispose();
    const left = k.memory().tensors - before;
    if (left > 0)
      console.warn(`  warning: ${workload.id} ${c.label}: ${left} tensors still live after dispose()`);
  }
}
