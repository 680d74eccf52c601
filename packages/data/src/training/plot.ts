// Loss curves as a standalone SVG document (no dependencies): one line per series (train, val,
// ...), axes with nice ticks and grid lines, axis labels, a title, a legend, and an optional log
// scale for y. Points whose value is NaN or infinite (a diverged step) break the line instead of
// bending it to the edge of the plot; on a log axis, values <= 0 do the same.
import { formatTick, logTicks, niceDomain, ticks } from './ticks.js';
import { writeFileAtomic } from './write-file.js';

export interface Series {
  name: string;
  /** [step, value] pairs, in step order. */
  points: readonly (readonly [number, number])[];
  /** Stroke colour (CSS); default from a ten-colour palette, in series order. */
  color?: string;
}

export interface LossCurveOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Logarithmic y axis (default false). */
  logY?: boolean;
  /** Image size in pixels (default 640 x 400). */
  width?: number;
  height?: number;
}

// matplotlib's "tab10" palette, the default colour cycle most readers know from PyTorch tutorials.
const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Coordinates with two decimals keep files small and output stable. */
function px(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

interface Axis {
  domain: [number, number];
  ticks: number[];
  step: number;
  scale(v: number): number;
}

function linearAxis(lo: number, hi: number, r0: number, r1: number, count: number): Axis {
  if (lo === hi) {
    // One value: centre it in a unit-wide (or 10%-wide) window.
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const domain = niceDomain(lo, hi, count);
  const t = ticks(domain[0], domain[1], count);
  const step = t.length > 1 ? t[1] - t[0] : Math.abs(domain[1] - domain[0]);
  const k = (r1 - r0) / (domain[1] - domain[0]);
  return { domain, ticks: t, step, scale: (v) => r0 + (v - domain[0]) * k };
}

function logAxis(lo: number, hi: number, r0: number, r1: number, count: number): Axis {
  if (lo === hi) [lo, hi] = [lo / 2, hi * 2];
  // 5% of the log range as margin, so the extreme values do not touch the frame.
  const l0 = Math.log10(lo);
  const l1 = Math.log10(hi);
  const margin = (l1 - l0) * 0.05;
  const domain: [number, number] = [10 ** (l0 - margin), 10 ** (l1 + margin)];
  const k = (r1 - r0) / (l1 - l0 + 2 * margin);
  return {
    domain,
    ticks: logTicks(domain[0], domain[1], count),
    step: 0,
    scale: (v) => r0 + (Math.log10(v) - (l0 - margin)) * k,
  };
}

/** Renders loss curves as an SVG document. */
export function lossCurveSvg(series: readonly Series[], options: LossCurveOptions = {}): string {
  const { title, xLabel = 'step', yLabel = 'loss', logY = false, width = 640, height = 400 } = options;
  const usable = (v: number) => Number.isFinite(v) && (!logY || v > 0);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of series) {
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !usable(y)) continue;
      xs.push(x);
      ys.push(y);
    }
  }
  if (xs.length === 0) {
    throw new Error(
      `lossCurveSvg: no points to plot${logY ? ' (a log scale needs values > 0)' : ''} in ${series.length} series`,
    );
  }
  const margin = { left: 64, right: 16, top: title ? 36 : 16, bottom: 48 };
  const plot = { x0: margin.left, x1: width - margin.right, y0: height - margin.bottom, y1: margin.top };
  const min = (a: number[]) => a.reduce((m, v) => Math.min(m, v), Infinity);
  const max = (a: number[]) => a.reduce((m, v) => Math.max(m, v), -Infinity);
  const xAxis = linearAxis(
    min(xs),
    max(xs),
    plot.x0,
    plot.x1,
    Math.max(2, Math.round((plot.x1 - plot.x0) / 80)),
  );
  const yCount = Math.max(2, Math.round((plot.y0 - plot.y1) / 50));
  const yAxis = logY
    ? logAxis(min(ys), max(ys), plot.y0, plot.y1, yCount)
    : linearAxis(min(ys), max(ys), plot.y0, plot.y1, yCount);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      'font-family="Helvetica, Arial, sans-serif" font-size="12">',
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  if (title)
    out.push(
      `<text x="${px(width / 2)}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    );

  // Grid lines and tick labels.
  out.push('<g class="grid" stroke="#e0e0e0" stroke-width="1">');
  for (const t of xAxis.ticks)
    out.push(`<line x1="${px(xAxis.scale(t))}" y1="${plot.y1}" x2="${px(xAxis.scale(t))}" y2="${plot.y0}"/>`);
  for (const t of yAxis.ticks)
    out.push(`<line x1="${plot.x0}" y1="${px(yAxis.scale(t))}" x2="${plot.x1}" y2="${px(yAxis.scale(t))}"/>`);
  out.push('</g>');
  out.push('<g class="x-axis" text-anchor="middle">');
  for (const t of xAxis.ticks) {
    const x = px(xAxis.scale(t));
    out.push(`<line x1="${x}" y1="${plot.y0}" x2="${x}" y2="${plot.y0 + 5}" stroke="black"/>`);
    out.push(`<text x="${x}" y="${plot.y0 + 18}">${formatTick(t, xAxis.step)}</text>`);
  }
  out.push('</g>');
  out.push('<g class="y-axis" text-anchor="end">');
  for (const t of yAxis.ticks) {
    const y = px(yAxis.scale(t));
    out.push(`<line x1="${plot.x0 - 5}" y1="${y}" x2="${plot.x0}" y2="${y}" stroke="black"/>`);
    out.push(
      `<text x="${plot.x0 - 8}" y="${y}" dominant-baseline="middle">${formatTick(t, logY ? t : yAxis.step)}</text>`,
    );
  }
  out.push('</g>');
  out.push(
    `<rect class="frame" x="${plot.x0}" y="${plot.y1}" width="${plot.x1 - plot.x0}" height="${plot.y0 - plot.y1}" fill="none" stroke="black"/>`,
  );
  out.push(
    `<text class="x-label" x="${px((plot.x0 + plot.x1) / 2)}" y="${height - 10}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
  );
  const yMid = px((plot.y0 + plot.y1) / 2);
  out.push(
    `<text class="y-label" x="16" y="${yMid}" text-anchor="middle" transform="rotate(-90 16 ${yMid})">${escapeXml(yLabel)}</text>`,
  );

  // Curves, clipped to the plot area.
  out.push(
    `<clipPath id="plot-area"><rect x="${plot.x0}" y="${plot.y1}" width="${plot.x1 - plot.x0}" height="${plot.y0 - plot.y1}"/></clipPath>`,
  );
  series.forEach((s, i) => {
    const color = escapeXml(s.color ?? PALETTE[i % PALETTE.length]);
    const segments: string[][] = [[]];
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !usable(y)) {
        if (segments[segments.length - 1].length > 0) segments.push([]);
        continue;
      }
      segments[segments.length - 1].push(`${px(xAxis.scale(x))} ${px(yAxis.scale(y))}`);
    }
    const lines = segments.filter((seg) => seg.length > 1).map((seg) => `M${seg.join('L')}`);
    const dots = segments.filter((seg) => seg.length === 1).map((seg) => seg[0].split(' '));
    out.push(`<g class="series" data-name="${escapeXml(s.name)}" clip-path="url(#plot-area)">`);
    if (lines.length > 0)
      out.push(
        `<path d="${lines.join('')}" fill="none" stroke="${color}" stroke-width="1.5" stroke-linejoin="round"/>`,
      );
    for (const [cx, cy] of dots) out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`);
    out.push('</g>');
  });

  // Legend, top right inside the plot.
  const legendWidth = 36 + 7 * Math.max(...series.map((s) => s.name.length), 1);
  const lx = plot.x1 - legendWidth - 8;
  out.push(`<g class="legend">`);
  out.push(
    `<rect x="${lx}" y="${plot.y1 + 8}" width="${legendWidth}" height="${series.length * 18 + 8}" fill="white" fill-opacity="0.85" stroke="#c0c0c0"/>`,
  );
  series.forEach((s, i) => {
    const y = plot.y1 + 20 + i * 18;
    const color = escapeXml(s.color ?? PALETTE[i % PALETTE.length]);
    out.push(`<line x1="${lx + 8}" y1="${y}" x2="${lx + 28}" y2="${y}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 34}" y="${y}" dominant-baseline="middle">${escapeXml(s.name)}</text>`);
  });
  out.push('</g>');
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Writes lossCurveSvg(series, options) to `path` (Node), atomically: a reader never sees half a file. */
export async function writeLossCurve(
  path: string,
  series: readonly Series[],
  options: LossCurveOptions = {},
): Promise<void> {
  await writeFileAtomic(path, lossCurveSvg(series, options), 'writeLossCurve');
}
