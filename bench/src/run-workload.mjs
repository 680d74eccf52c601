// One Kiln workload: each case is timed on every selected Kiln path, PyTorch's repetitions
// alternating with the first path's (the same load on this shared machine); afterwards the figures
// are tabulated against the limits.
import { measureKiln } from './kiln-runner.mjs';
import { ok, sig3 } from './report.mjs';

/**
 * @typedef {{ medianMs?: number, minMs?: number, warmups?: number, reps?: number, timeBoxed?: boolean, error?: string }} Timing
 *
 * @typedef {object} CaseTimings
 * @property {import('./workload').Case} c
 * @property {{ variant: import('./kiln-variants.mjs').KilnVariant, timing: Timing }[]} kiln
 * @property {Timing | null} torch
 */

/**
 * @typedef {object} TimedWorkload
 * @property {import('./workload').KilnWorkload} w
 * @property {Record<string, unknown>} options
 * @property {import('./harness.mjs').Policy} policy   the timing policy the workload ran under
 * @property {CaseTimings[]} timings
 * @property {string | null} torchLabel  the PyTorch column's title, null when PyTorch did not run
 */

/**
 * @param {import('./workload').KilnWorkload} w
 * @param {Record<string, unknown>} options
 * @param {import('./harness.mjs').Policy} policy
 * @param {import('./kiln-variants.mjs').KilnVariant[]} variants  the available paths to time
 * @param {import('./peers/torch.mjs').TorchSession | null} torch
 * @returns {Promise<TimedWorkload>}
 */
export async function timeWorkload(w, options, policy, variants, torch) {
  const withTorch = torch !== null && w.torch;
  if (torch && !w.torch) console.log(`  PyTorch: ${w.id} has no peers/torch_workloads module`);
  /** @type {CaseTimings[]} */
  const timings = [];
  for (const c of w.cases(options)) {
    const kiln = [];
    /** @type {Timing | null} */
    let peer = null;
    for (const variant of variants) {
      variant.use();
      // PyTorch's repetitions alternate with those of the first Kiln path (native where it
      // runs); a failure to set up its side leaves Kiln timed alone, with the error in its cells.
      /** @type {(import('./harness.mjs').Side & { dispose: () => Promise<void> }) | null} */
      let torchSide = null;
      if (withTorch && peer === null) {
        try {
          torchSide = await torch.open({ workload: w.id, label: c.label, params: c.params });
        } catch (e) {
          peer = { error: e instanceof Error ? e.message : String(e) };
        }
      }
      /** @type {Timing} */
      let timing;
      try {
        const [m, theirs] = await measureKiln(w, c, policy, torchSide ? [torchSide] : []);
        timing = m;
        if (theirs) peer = theirs;
        if (m.leakedTensors) console.log(`  WARNING: ${m.leakedTensors} tensors leaked over the repetitions`);
      } catch (e) {
        timing = { error: e instanceof Error ? e.message : String(e) };
      } finally {
        await torchSide?.dispose().catch(() => {});
      }
      console.log(`  Kiln ${variant.label.padEnd(7)} ${c.label.padEnd(8)} ${describe(timing)}`);
      if (torchSide && peer) console.log(`  PyTorch      ${c.label.padEnd(8)} ${describe(peer)}`);
      kiln.push({ variant, timing });
    }
    timings.push({ c, kiln, torch: peer });
  }
  return { w, options, policy, timings, torchLabel: withTorch ? (torch.info?.label ?? 'PyTorch') : null };
}

/**
 * The table of a timed workload and its record for results/latest.json.
 * @param {TimedWorkload} timed
 * @param {import('./workload').Limits | null} limits
 */
export function summarize({ w, options, policy, timings, torchLabel }, limits) {
  const table = tabulate(w, timings, torchLabel, limits);
  const rows = [...table.rows];
  const nextRow = () => /** @type {import('./report.mjs').Row} */ (rows.shift());
  return {
    table,
    record: {
      id: w.id,
      title: w.title,
      kind: w.kind,
      unit: w.figure.unit,
      options,
      policy,
      cases: timings.map((t) => ({
        label: t.c.label,
        params: t.c.params,
        torch: t.torch,
        kiln: t.kiln.map((k) => ({ path: k.variant.id, ...k.timing, ...derived(nextRow()) })),
      })),
    },
  };
}

/** @param {Timing} t */
function describe(t) {
  if (t.error !== undefined || t.medianMs === undefined) return `error: ${t.error ?? 'no result'}`;
  return (
    `median ${sig3(t.medianMs)} ms (min ${sig3(t.minMs ?? t.medianMs)}), ` +
    `${t.warmups}+${t.reps} reps${t.timeBoxed ? ' (time-boxed)' : ''}`
  );
}

/**
 * One row per case and Kiln path; the PyTorch cells repeat on each row of a case.
 * @param {import('./workload').KilnWorkload} w
 * @param {CaseTimings[]} timings
 * @param {string | null} torchLabel
 * @param {import('./workload').Limits | null} limits
 * @returns {import('./report.mjs').WorkloadTable}
 */
function tabulate(w, timings, torchLabel, limits) {
  /**
   * @param {import('./workload').Case} c
   * @param {Timing} t
   * @returns {import('./report.mjs').Side | { error: string }}
   */
  const side = (c, t) => {
    if (t.error !== undefined || t.medianMs === undefined) return { error: t.error ?? 'no result' };
    return {
      medianMs: t.medianMs,
      minMs: t.minMs ?? t.medianMs,
      warmups: t.warmups ?? 0,
      reps: t.reps ?? 0,
      timeBoxed: t.timeBoxed ?? false,
      figure: w.figure.fromMs(t.medianMs, c.params),
    };
  };
  const rows = timings.flatMap(({ c, kiln, torch }) => {
    const t = torch ? side(c, torch) : null;
    return kiln.map(({ variant, timing }) => {
      const k = side(c, timing);
      return {
        label: c.label,
        path: variant.label,
        kiln: k,
        torch: t,
        speedRatio: ok(k) && ok(t) ? t.medianMs / k.medianMs : null,
        speedRatioOfMins: ok(k) && ok(t) ? t.minMs / k.minMs : null,
        limits: w.limits(limits, c.params).map((l) => ({
          label: l.label,
          value: l.value,
          kilnPct: ok(k) ? (100 * k.figure) / l.value : null,
          torchPct: ok(t) ? (100 * t.figure) / l.value : null,
        })),
      };
    });
  });
  return { id: w.id, title: w.title, unit: w.figure.unit, torchLabel, rows };
}

/** @param {import('./report.mjs').Row} r */
function derived(r) {
  return {
    figure: ok(r.kiln) ? r.kiln.figure : null,
    torchFigure: ok(r.torch) ? r.torch.figure : null,
    speedRatio: r.speedRatio,
    speedRatioOfMins: r.speedRatioOfMins,
    limits: r.limits,
  };
}
