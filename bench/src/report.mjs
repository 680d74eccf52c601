// Tables: one per workload, as aligned text for the terminal and as Markdown for READMEs.

/**
 * @typedef {object} Side   one system's timing of one case
 * @property {number} medianMs
 * @property {number} minMs
 * @property {number} warmups
 * @property {number} reps
 * @property {boolean} timeBoxed
 * @property {number} figure      the workload's figure at the median
 *
 * @typedef {object} Row
 * @property {string} label
 * @property {string} path      which Kiln CPU path: native or TS
 * @property {Side | { error: string }} kiln
 * @property {Side | { error: string } | null} torch   null when PyTorch did not run
 * @property {number | null} speedRatio  PyTorch median / Kiln median: > 1 means Kiln is faster
 * @property {number | null} speedRatioOfMins  the same from the fastest repetitions, which a busy
 *   machine disturbs least (preemption only ever slows a repetition down)
 * @property {{ label: string, value: number, kilnPct: number | null, torchPct: number | null }[]} limits
 *
 * @typedef {object} WorkloadTable
 * @property {string} id
 * @property {string} title
 * @property {string} unit
 * @property {string | null} torchLabel
 * @property {Row[]} rows
 */

/**
 * Three significant figures without exponents: 0.00672, 1.47, 22.9, 229, 1460.
 * @param {number} x
 */
export function sig3(x) {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return Number(x.toPrecision(3)).toString();
}

/** @param {Side | { error: string } | null} s @returns {s is Side} */
export const ok = (s) => s !== null && !('error' in s);

/** @param {Side} s */
const reps = (s) => `${s.warmups}+${s.reps}${s.timeBoxed ? '*' : ''}`;

/** @param {Side | { error: string }} s */
const time = (s) => (ok(s) ? `${sig3(s.medianMs)} (${sig3(s.minMs)})` : 'error (see log)');

/**
 * @param {WorkloadTable} t
 * @returns {{ header: string[], align: ('l' | 'r')[], body: string[][] }}
 */
function cells(t) {
  const withTorch = t.torchLabel !== null;
  const header = ['case', 'Kiln', 'Kiln ms', 'reps'];
  if (withTorch) header.push(`${t.torchLabel} ms`, 'reps');
  header.push(`Kiln ${t.unit}`);
  if (withTorch) header.push(`PyTorch ${t.unit}`, 'Kiln/PyTorch (mins)');
  for (const l of t.rows[0]?.limits ?? []) {
    header.push(withTorch ? `% ${l.label} Kiln / PyTorch` : `% ${l.label}`);
  }
  const body = t.rows.map((r) => {
    const row = [r.label, r.path, time(r.kiln), ok(r.kiln) ? reps(r.kiln) : ''];
    if (withTorch) row.push(r.torch ? time(r.torch) : '', ok(r.torch) ? reps(r.torch) : '');
    row.push(ok(r.kiln) ? sig3(r.kiln.figure) : '');
    if (withTorch) {
      const ratio =
        r.speedRatio === null ? '' : `${sig3(r.speedRatio)}x (${sig3(r.speedRatioOfMins ?? Number.NaN)}x)`;
      row.push(ok(r.torch) ? sig3(r.torch.figure) : '', ratio);
    }
    const pct = (/** @type {number | null} */ p) => (p === null ? '-' : `${sig3(p)}%`);
    for (const l of r.limits) row.push(withTorch ? `${pct(l.kilnPct)} / ${pct(l.torchPct)}` : pct(l.kilnPct));
    return row;
  });
  return { header, align: header.map((_, i) => (i < 2 ? 'l' : 'r')), body };
}

/** @param {WorkloadTable} t */
function caption(t) {
  const limits = t.rows[0]?.limits.map((l) => `${l.label} = ${sig3(l.value)} ${t.unit}`) ?? [];
  return `${t.id}  ${t.title}: figure in ${t.unit}${limits.length ? `; ${limits.join(', ')}` : ''}`;
}

export const FOOTNOTE =
  'Kiln: native = the @kiln/backend-cpu addon (its thread pool), TS = its TypeScript kernels (one ' +
  'JS thread). ms: median (min) of the timed repetitions; figures from the median. reps: warm-ups + timed ' +
  'repetitions, * = time-boxed (fewer than the policy asks). Kiln/PyTorch: speed ratio = PyTorch ' +
  'median / Kiln median (> 1: Kiln faster); in brackets the same from the mins, which load from ' +
  'other processes disturbs least.';

/**
 * A figure above 100% of a limit means the probe of that limit ran slower than the workload did:
 * other load in this run, not a faster-than-hardware result.
 * @param {WorkloadTable} t
 * @returns {string[]}
 */
function overLimitNote(t) {
  const over = t.rows.some((r) => r.limits.some((l) => (l.kilnPct ?? 0) > 100 || (l.torchPct ?? 0) > 100));
  if (!over) return [];
  return [
    'note: a share above 100% means the probe of that limit was slowed by other load; the limit is understated',
  ];
}

/** @param {WorkloadTable} t */
export function textTable(t) {
  const { header, align, body } = cells(t);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (/** @type {string[]} */ r) =>
    r.map((c, i) => (align[i] === 'l' ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [caption(t), line(header), rule, ...body.map(line), ...overLimitNote(t)].join('\n');
}

/** @param {WorkloadTable} t */
export function markdownTable(t) {
  const { header, align, body } = cells(t);
  const row = (/** @type {string[]} */ r) => `| ${r.join(' | ')} |`;
  const note = overLimitNote(t);
  return [
    `**${caption(t)}**`,
    '',
    row(header),
    row(align.map((a) => (a === 'l' ? '---' : '---:'))),
    ...body.map(row),
    ...(note.length ? ['', ...note] : []),
  ].join('\n');
}
