// Attention weights as a standalone SVG heat map (no dependencies), the figure of Bahdanau et al.
// (2015, fig. 3) and of the TensorFlow / PyTorch attention tutorials: one cell per (target word,
// source word), source words along the top x axis (rotated so long words stay readable), target
// words down the y axis, colours from matplotlib's "viridis" map and a colour bar with ticks.
import * as k from '@kiln/core';

export interface AttentionHeatmapOptions {
  title?: string;
  /** Axis captions (default 'source' and 'target'). */
  xLabel?: string;
  yLabel?: string;
  /** Side of one cell in pixels (default 28). */
  cellSize?: number;
  /** Colour range; default [0, max of the matrix] (attention rows sum to 1, so max <= 1). */
  vmin?: number;
  vmax?: number;
}

/** A matrix given as nested arrays or a 2-D tensor (rows = target positions). */
export type HeatmapMatrix = readonly (readonly number[])[] | k.Tensor;

// Eleven evenly spaced samples of matplotlib's viridis, interpolated linearly between.
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [72, 36, 117],
  [65, 68, 135],
  [53, 95, 141],
  [42, 120, 142],
  [33, 145, 140],
  [34, 168, 132],
  [68, 191, 112],
  [122, 209, 81],
  [189, 223, 38],
  [253, 231, 37],
];

/** The viridis colour of t in [0, 1] as #rrggbb. */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const hex = (c: number) => Math.round(c).toString(16).padStart(2, '0');
  const [a, b] = [VIRIDIS[i], VIRIDIS[i + 1]];
  return `#${hex(a[0] + (b[0] - a[0]) * f)}${hex(a[1] + (b[1] - a[1]) * f)}${hex(a[2] + (b[2] - a[2]) * f)}`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function px(v: number): string {
  return (Math.round(v * 100) / 100).toString();
}

function toRows(matrix: HeatmapMatrix): number[][] {
  if (!k.isTensor(matrix)) return matrix.map((row) => Array.from(row));
  if (matrix.ndim !== 2)
    throw new Error(
      `attentionHeatmapSvg: expected a 2-D attention matrix [target, source], got shape [${matrix.shape.join(', ')}]`,
    );
  return matrix.toArraySync() as number[][];
}

/** Rough text width for a sans-serif font: enough to reserve room for labels. */
function textWidth(s: string, fontSize: number): number {
  return s.length * fontSize * 0.6;
}

/**
 * An SVG document of `matrix` [targetTokens.length, sourceTokens.length]: row i holds the weights
 * target token i gave to each source token. Tensors are read synchronously (CPU); on devices that
 * cannot block, pass `await t.toArray()` or use writeAttentionHeatmap.
 */
export function attentionHeatmapSvg(
  matrix: HeatmapMatrix,
  sourceTokens: readonly string[],
  targetTokens: readonly string[],
  options: AttentionHeatmapOptions = {},
): string {
  const rows = toRows(matrix);
  const cols = rows[0]?.length ?? 0;
  if (rows.length !== targetTokens.length || rows.some((r) => r.length !== sourceTokens.length))
    throw new Error(
      `attentionHeatmapSvg: matrix [${rows.length}, ${cols}] does not match ${targetTokens.length} target and ${sourceTokens.length} source labels (expected [${targetTokens.length}, ${sourceTokens.length}])`,
    );
  if (rows.length === 0 || cols === 0)
    throw new Error(`attentionHeatmapSvg: the matrix is empty ([${rows.length}, ${cols}])`);
  const values = rows.flat().filter(Number.isFinite);
  const vmin = options.vmin ?? 0;
  const vmax = options.vmax ?? Math.max(vmin + Number.EPSILON, ...values);
  if (!(vmax > vmin)) throw new RangeError(`attentionHeatmapSvg: vmax (${vmax}) must exceed vmin (${vmin})`);
  const cell = options.cellSize ?? 28;
  const font = Math.max(9, Math.min(14, cell * 0.45));
  const xLabel = options.xLabel ?? 'source';
  const yLabel = options.yLabel ?? 'target';

  // Layout: title, rotated source labels above the grid, target labels to its left, colour bar right.
  const top =
    (options.title ? 28 : 8) +
    Math.max(...sourceTokens.map((s) => textWidth(s, font))) * Math.SQRT1_2 +
    font +
    18;
  const left = 24 + Math.max(...targetTokens.map((s) => textWidth(s, font))) + 8;
  const gridW = cols * cell;
  const gridH = rows.length * cell;
  const barX = left + gridW + 20;
  const barW = 14;
  // Wide enough for the colour bar's labels and for the title, whichever needs more.
  const width = Math.max(barX + barW + 48, options.title ? textWidth(options.title, font + 2) + 24 : 0);
  const height = top + Math.max(gridH, 120) + 16;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px(width)}" height="${px(height)}" viewBox="0 0 ${px(width)} ${px(height)}" font-family="sans-serif" font-size="${px(font)}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  );
  if (options.title)
    out.push(
      `<text x="${px(width / 2)}" y="20" text-anchor="middle" font-size="${px(font + 2)}">${escapeXml(options.title)}</text>`,
    );
  rows.forEach((row, i) => {
    row.forEach((v, j) => {
      const t = (v - vmin) / (vmax - vmin);
      out.push(
        `<rect x="${px(left + j * cell)}" y="${px(top + i * cell)}" width="${cell}" height="${cell}" fill="${viridis(t)}"><title>${escapeXml(`${targetTokens[i]} -> ${sourceTokens[j]}: ${v.toFixed(3)}`)}</title></rect>`,
      );
    });
  });
  // Source labels above the columns, rotated -45 degrees about their anchor so they do not overlap.
  sourceTokens.forEach((s, j) => {
    const x = left + (j + 0.5) * cell;
    const y = top - 6;
    out.push(
      `<text x="${px(x)}" y="${px(y)}" transform="rotate(-45 ${px(x)} ${px(y)})">${escapeXml(s)}</text>`,
    );
  });
  targetTokens.forEach((s, i) => {
    out.push(
      `<text x="${px(left - 6)}" y="${px(top + (i + 0.5) * cell)}" text-anchor="end" dominant-baseline="middle">${escapeXml(s)}</text>`,
    );
  });
  out.push(
    `<text x="${px(left + gridW / 2)}" y="${px((options.title ? 28 : 8) + font)}" text-anchor="middle" font-style="italic">${escapeXml(xLabel)}</text>`,
    `<text x="12" y="${px(top + gridH / 2)}" text-anchor="middle" font-style="italic" transform="rotate(-90 12 ${px(top + gridH / 2)})">${escapeXml(yLabel)}</text>`,
  );

  // Colour bar: a vertical gradient from vmax (top) to vmin (bottom), with five ticks.
  const barH = Math.max(gridH, 120);
  out.push(
    '<defs><linearGradient id="colorbar" x1="0" y1="1" x2="0" y2="0">',
    ...Array.from({ length: 11 }, (_, s) => `<stop offset="${s / 10}" stop-color="${viridis(s / 10)}"/>`),
    '</linearGradient></defs>',
    `<rect x="${px(barX)}" y="${px(top)}" width="${barW}" height="${px(barH)}" fill="url(#colorbar)" stroke="#444" stroke-width="0.5"/>`,
  );
  for (let s = 0; s <= 4; s++) {
    const v = vmin + ((vmax - vmin) * s) / 4;
    const y = top + barH - (barH * s) / 4;
    out.push(
      `<line x1="${px(barX + barW)}" y1="${px(y)}" x2="${px(barX + barW + 4)}" y2="${px(y)}" stroke="#444"/>`,
      `<text x="${px(barX + barW + 6)}" y="${px(y)}" dominant-baseline="middle">${Number(v.toPrecision(2))}</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Writes attentionHeatmapSvg to `path` (via a temporary file and a rename, so readers never see half a file). */
export async function writeAttentionHeatmap(
  path: string,
  matrix: HeatmapMatrix,
  sourceTokens: readonly string[],
  targetTokens: readonly string[],
  options: AttentionHeatmapOptions = {},
): Promise<void> {
  const rows = k.isTensor(matrix) && matrix.ndim === 2 ? ((await matrix.toArray()) as number[][]) : matrix;
  const svg = attentionHeatmapSvg(rows, sourceTokens, targetTokens, options);
  const fs = await import('node:fs/promises');
  const tmp = `${path}.${Date.now().toString(36)}.tmp`;
  await fs.writeFile(tmp, svg);
  await fs.rename(tmp, path);
}
