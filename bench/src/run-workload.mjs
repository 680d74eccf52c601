// One Kiln workload: each case is timed on Kiln, then at once on PyTorch (same load on this
// shared machine), and the figures are tabulated against the measured limits.
import { measureKiln } from './kiln-runner.mjs';
import { ok, sig3 } from './report.mjs';

/**
 * @typedef {{ medianMs?: number, minMs?: number, warmups?: number, reps?: number, timeBoxed?: boolean, error?: string }} Timing
 *
 * @typedef {object} CaseRecord   one case as written to results/latest.json
 * @property {string} label
 * @property {import('./workload').Case['params']} params
 * @property {Timing} kiln
 * @property {Timing | null} torch
 */

/**
 * @param {import('./workload').KilnWorkload} w
 * @param {Record<string, unknown>} options
 * @param {import('./harness.mjs').Policy} policy
 * @param {import('./peers/torch.mjs').TorchSession | null} torch
 * @param {import('./workload').Limits | null} limits
 */
export async function runWorkload(w, options, policy, torch, limits) {
  const withTorch = torch !== null && w.torch;
  if (torch && !w.torch) console.log(`  PyTorch: ${w.id} has no peers/torch_workloads module`);
  /** @type {CaseRecord[]} */
  const records = [];
  for (const c of w.cases(options)) {
    /** @type {Timing} */
    let kiln;
    try {
      const m = await measureKiln(w, c, policy);
      kiln = m;
      if (m.leakedTensors) console.log(`  WARNING: ${m.leakedTensors} tensors leaked over the repetitions`);
    } catch (e) {
      kiln = { error: e instanceof Error ? e.message : String(e) };
    }
    console.log(`  Kiln-TS  ${c.label.padEnd(8)} ${describe(kiln)}`);
    /** @type {Timing | null} */
    let peer = null;
    if (withTorch) {
      try {
        peer = await torch.run({ workload: w.id, label: c.label, params: c.params });
      } catch (e) {
        peer = { error: e instanceof Error ? e.message : String(e) };
      }
      console.log(`  PyTorch  ${c.label.padEnd(8)} ${describe(peer)}`);
    }
    records.push({ label: c.label, params: c.params, kiln, torch: peer });
  }
  const table = tabulate(w, records, withTorch ? (torch.info?.label ?? 'PyTorch') : null, limits);
  return {
    table,
    record: {
      id: w.id,
      title: w.title,
      kind: w.kind,
      unit: w.figure.unit,
      options,
      cases: records.map((r, i) => ({ ...r, ...derived(table.rows[i]) })),
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
 * @param {import('./workload').KilnWorkload} w
 * @param {CaseRecord[]} records
 * @param {string | null} torchLabel
 * @param {import('./workload').Limits | null} limits
 * @returns {import('./report.mjs').WorkloadTable}
 */
function tabulate(w, records, torchLabel, limits) {
  /**
   * @param {CaseRecord} r
   * @param {Timing} t
   * @returns {import('./report.mjs').Side | { error: string }}
   */
  const side = (r, t) => {
    if (t.error !== undefined || t.medianMs === undefined) return { error: t.error ?? 'no result' };
    return {
      medianMs: t.medianMs,
      minMs: t.minMs ?? t.medianMs,
      warmups: t.warmups ?? 0,
      reps: t.reps ?? 0,
      timeBoxed: t.timeBoxed ?? false,
      figure: w.figure.fromMs(t.medianMs, r.params),
    };
  };
  const rows = records.map((r) => {
    const k = side(r, r.kiln);
    const t = r.torch ? side(r, r.torch) : null;
    return {
      label: r.label,
      kiln: k,
      torch: t,
      speedRatio: ok(k) && ok(t) ? t.medianMs / k.medianMs : null,
      speedRatioOfMins: ok(k) && ok(t) ? t.minMs / k.minMs : null,
      limits: w.limits(limits, r.params).map((l) => ({
        label: l.label,
        value: l.value,
        kilnPct: ok(k) ? (100 * k.figure) / l.value : null,
        torchPct: ok(t) ? (100 * t.figure) / l.value : null,
      })),
    };
  });
  return { id: w.id, title: w.title, unit: w.figure.unit, torchLabel, rows };
}

/** @param {import('./report.mjs').Row} r */
function derived(r) {
  return {
    kilnFigure: ok(r.kiln) ? r.kiln.figure : null,
    torchFigure: ok(r.torch) ? r.torch.figure : null,
    speedRatio: r.speedRatio,
    speedRatioOfMins: r.speedRatioOfMins,
    limits: r.limits,
  };
}
