// Timing protocol shared by every workload (WORKLOADS.md): >= 2 warm-ups, then >= 5 timed
// repetitions in one process, reported as the MEDIAN (and the min). Warm-ups also go on until a
// second of them has run: a JIT compiles a step's functions over its first hundreds of calls (Kiln's
// W3 step takes ~3 ms over its first 100 calls, ~1.6-1.9 ms from the 200th on), so two warm-ups of a
// short step would time the compiler. PyTorch gets the same warm-up. Short workloads repeat until a
// target amount of timed work has accumulated, so their median rests on more samples; long ones
// are time-boxed and say so. Kiln and PyTorch repetitions alternate in blocks (measureInterleaved):
// this loop drives peers/torch_bench.py block by block, which repeats only the warm-up loop.

/**
 * @typedef {object} Policy
 * @property {number} warmups       untimed repetitions first (JIT, caches, allocator pools)
 * @property {number} warmupSeconds  ... and more of them until this much warm-up time has passed
 * @property {number} minReps       timed repetitions at least (unless time-boxed)
 * @property {number} maxReps       timed repetitions at most
 * @property {number} targetSeconds keep repeating until this much timed work (and minReps) is done
 * @property {number} maxCaseSeconds time box for one case, warm-ups included
 */

/** @type {Readonly<Policy>} */
export const DEFAULT_POLICY = Object.freeze({
  warmups: 2,
  warmupSeconds: 1,
  minReps: 5,
  // Timed work per system, in ROUNDS blocks: 50 repetitions of a 1.5 ms step (the old cap) were
  // 75 ms of timing, shorter than one of the machine's slow episodes, and W3's ratio swung with
  // whichever system an episode fell on. Three seconds spread an episode over many blocks.
  maxReps: 2000,
  targetSeconds: 3,
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
 * @typedef {object} WarmUp
 * @property {number} warmups   warm-ups run
 * @property {number} lastMs    the last one's time: the estimate of a repetition
 * @property {number} elapsedMs time the warm-ups took (counts against the case's box)
 * @property {boolean} timeBoxed fewer warm-ups than the policy asks
 *
 * @typedef {object} Side  one system's repetitions of a case, driven by measureInterleaved
 * @property {(policy: Policy) => Promise<WarmUp>} warmUp  the policy's warm-ups
 * @property {(reps: number) => Promise<number[]>} time    that many timed repetitions, in ms
 */

/**
 * Warm-ups under `policy`: at least `warmups` of them and more until `warmupSeconds` have passed,
 * stopping early when one more would leave no room in the box for the timed repetitions.
 * peers/torch_bench.py's warm_up is the same loop.
 * @param {() => Promise<number>} timeOnce
 * @param {Policy} policy
 * @returns {Promise<WarmUp>}
 */
async function warmUp(timeOnce, policy) {
  const start = performance.now();
  const budgetMs = policy.maxCaseSeconds * 1e3;
  let lastMs = 0;
  let warmups = 0;
  let warmMs = 0;
  let timeBoxed = false;
  while (warmups < policy.warmups || warmMs < policy.warmupSeconds * 1e3) {
    lastMs = await timeOnce();
    warmMs += lastMs;
    warmups++;
    // A short count of warm-ups makes the case time-boxed, a short warm-up time does not.
    if (lastMs * (1 + policy.minReps) > budgetMs - (performance.now() - start)) {
      timeBoxed = warmups < policy.warmups;
      break;
    }
  }
  return { warmups, lastMs, elapsedMs: performance.now() - start, timeBoxed };
}

/**
 * A Side that runs in this process. `runOnce` must include reading a result back, so that work an
 * asynchronous backend queued is inside the timed interval.
 * @param {() => Promise<void>} runOnce
 * @returns {Side}
 */
export function localSide(runOnce) {
  const timeOnce = async () => {
    const t0 = performance.now();
    await runOnce();
    return performance.now() - t0;
  };
  return {
    warmUp: (policy) => warmUp(timeOnce, policy),
    async time(reps) {
      const samples = [];
      for (let i = 0; i < reps; i++) samples.push(await timeOnce());
      return samples;
    },
  };
}

/**
 * Timed repetitions are taken in this many alternating blocks per system. This machine's speed
 * drifts in episodes of a few hundred ms (other tenants of the host): timing one system's case
 * after the other's puts them in different episodes, while alternating blocks spread every episode
 * over both, which is what a ratio of their medians needs.
 */
const ROUNDS = 10;

/**
 * Idle time before each block when systems alternate: after its last repetition a system's worker
 * threads go on spinning for a while (PyTorch's OpenMP threads: ~8 ms of CPU over the next 10 ms,
 * measured on W3), which would take a core from the block that follows.
 */
const SETTLE_MS = 25;

/** Repetitions shorter than this get one untimed re-warm-up at the start of each block. */
const REWARM_BELOW_MS = 100;

/**
 * Times one case on several systems: each warms up in turn, then their timed repetitions run in
 * alternating blocks (ROUNDS of them, more if a system has not yet reached the policy's timed
 * work), each system stopping by the policy on its own samples: at least minReps, until
 * targetSeconds of timed work or maxReps, within its maxCaseSeconds box. A system whose side
 * throws drops out with `{ error }`; the others go on.
 * @param {Side[]} sides
 * @param {Policy} policy
 * @returns {Promise<(Measurement | { error: string })[]>}
 */
export async function measureInterleaved(sides, policy) {
  const budgetMs = policy.maxCaseSeconds * 1e3;
  const targetMs = policy.targetSeconds * 1e3;
  /**
   * @type {{ side: Side, error?: string, w: WarmUp, want: number, block: number, timeBoxed: boolean,
   *   samples: number[], timedMs: number, spentMs: number }[]}
   */
  const state = [];
  for (const side of sides) {
    const s = {
      side,
      /** @type {string | undefined} */
      error: undefined,
      w: { warmups: 0, lastMs: 0, elapsedMs: 0, timeBoxed: false },
      want: 0,
      block: 1,
      timeBoxed: false,
      /** @type {number[]} */
      samples: [],
      timedMs: 0,
      spentMs: 0,
    };
    state.push(s);
    try {
      s.w = await side.warmUp(policy);
    } catch (e) {
      s.error = errorText(e);
      continue;
    }
    const estMs = Math.max(s.w.lastMs, 1e-6);
    // The repetitions that fit in what is left of the box (at least one).
    const fit = Math.max(1, Math.floor((budgetMs - s.w.elapsedMs) / estMs));
    s.want = Math.min(policy.minReps, fit);
    const expected = Math.min(policy.maxReps, fit, Math.max(s.want, Math.ceil(targetMs / estMs)));
    s.block = Math.max(1, Math.ceil(expected / ROUNDS));
    s.timeBoxed = s.w.timeBoxed || s.want < policy.minReps;
    s.spentMs = s.w.elapsedMs;
  }
  /** @param {(typeof state)[number]} s */
  const finished = (s) => {
    if (s.error !== undefined) return true;
    const n = s.samples.length;
    if (n >= policy.maxReps) return true;
    if (n >= s.want && (s.timeBoxed || s.timedMs >= targetMs)) return true;
    return n > 0 && s.spentMs + s.timedMs / n > budgetMs;
  };
  for (
    let open = state.filter((s) => !finished(s));
    open.length > 0;
    open = open.filter((s) => !finished(s))
  ) {
    for (const s of open) {
      if (state.length > 1) {
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        // The first repetition after another system's block pays for what that block evicted
        // (caches, a sleeping thread pool): for short repetitions it runs untimed.
        if (s.w.lastMs < REWARM_BELOW_MS) {
          const t0 = performance.now();
          await s.side.time(1).catch(() => []);
          s.spentMs += performance.now() - t0;
        }
      }
      const perRep = s.samples.length ? s.timedMs / s.samples.length : Math.max(s.w.lastMs, 1e-6);
      const room = Math.max(1, Math.floor((budgetMs - s.spentMs) / perRep));
      const reps = Math.min(s.block, policy.maxReps - s.samples.length, room);
      const t0 = performance.now();
      try {
        const got = await s.side.time(reps);
        s.samples.push(...got);
        s.timedMs += got.reduce((a, b) => a + b, 0);
      } catch (e) {
        s.error = errorText(e);
      }
      s.spentMs += performance.now() - t0;
    }
  }
  return state.map((s) =>
    s.error !== undefined
      ? { error: s.error }
      : {
          medianMs: median(s.samples),
          minMs: Math.min(...s.samples),
          warmups: s.w.warmups,
          reps: s.samples.length,
          samplesMs: s.samples,
          timeBoxed: s.timeBoxed,
        },
  );
}

/** @param {unknown} e */
const errorText = (e) => (e instanceof Error ? e.message : String(e));

/**
 * Times `runOnce` alone under `policy` (one side of measureInterleaved).
 * @param {() => Promise<void>} runOnce
 * @param {Policy} policy
 * @returns {Promise<Measurement>}
 */
export async function measure(runOnce, policy) {
  const [m] = await measureInterleaved([localSide(runOnce)], policy);
  if ('error' in m) throw new Error(String(m.error));
  return m;
}
