// Timing protocol shared by every workload (WORKLOADS.md): >= 2 warm-ups, then >= 5 timed
// repetitions in one process, reported as the MEDIAN (and the min). Short workloads repeat until a
// target amount of timed work has accumulated, so their median rests on more samples; long ones
// are time-boxed and say so. peers/torch_bench.py implements the same policy from the same numbers.

/**
 * @typedef {object} Policy
 * @property {number} warmups       untimed repetitions first (JIT, caches, allocator pools)
 * @property {number} minReps       timed repetitions at least (unless time-boxed)
 * @property {number} maxReps       timed repetitions at most
 * @property {number} targetSeconds keep repeating until this much timed work (and minReps) is done
 * @property {number} maxCaseSeconds time box for one case, warm-ups included
 */

/** @type {Readonly<Policy>} */
export const DEFAULT_POLICY = Object.freeze({
  warmups: 2,
  minReps: 5,
  maxReps: 50,
  targetSeconds: 1,
  maxCaseSeconds: 90,
});

/**
 * @typedef {object} Measurement
 * @property {number} medianMs
 * @property {number} minMs
 * @property {number} warmups   warm-ups actually run
 * @property {number} reps      timed repetitions actually run
 * @property {number[]} samplesMs
 * @property {boolean} timeBoxed true when the case ran fewer warm-ups or repetitions than the policy asks
 */

/**
 * Median of a non-empty list (mean of the two middle values for an even count).
 * @param {number[]} values
 */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Times `runOnce` under `policy`. `runOnce` must include reading a result back, so that work an
 * asynchronous backend queued is inside the timed interval.
 * @param {() => Promise<void>} runOnce
 * @param {Policy} policy
 * @returns {Promise<Measurement>}
 */
export async function measure(runOnce, policy) {
  const caseStart = performance.now();
  const budgetMs = policy.maxCaseSeconds * 1e3;
  const timeOnce = async () => {
    const t0 = performance.now();
    await runOnce();
    return performance.now() - t0;
  };

  let timeBoxed = false;
  let lastMs = 0;
  let warmups = 0;
  while (warmups < policy.warmups) {
    lastMs = await timeOnce();
    warmups++;
    // One more warm-up would leave no room for the timed repetitions.
    if (
      warmups < policy.warmups &&
      lastMs * (1 + policy.minReps) > budgetMs - (performance.now() - caseStart)
    ) {
      timeBoxed = true;
      break;
    }
  }

  const leftMs = budgetMs - (performance.now() - caseStart);
  let wantReps = policy.minReps;
  if (lastMs * policy.minReps > leftMs) {
    wantReps = Math.max(1, Math.floor(leftMs / Math.max(lastMs, 1e-6)));
    timeBoxed = true;
  }

  /** @type {number[]} */
  const samplesMs = [];
  let timedMs = 0;
  while (samplesMs.length < policy.maxReps) {
    const ms = await timeOnce();
    samplesMs.push(ms);
    timedMs += ms;
    if (samplesMs.length < wantReps) continue;
    if (timeBoxed) break;
    if (timedMs >= policy.targetSeconds * 1e3) break;
    if (performance.now() - caseStart + ms > budgetMs) break;
  }

  return {
    medianMs: median(samplesMs),
    minMs: Math.min(...samplesMs),
    warmups,
    reps: samplesMs.length,
    samplesMs,
    timeBoxed,
  };
}
