// The attention heat map: one viridis cell per (target, source) pair coloured by its weight, labels
// escaped and placed on the right axes, a colour bar, and a well-formed SVG document.
import '@kiln/backend-cpu';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k from '@kiln/core';
import { describe, expect, it } from 'vitest';
import { attentionHeatmapSvg, viridis, writeAttentionHeatmap } from './attention-heatmap.js';

/** Every tag closes in order (a minimal well-formedness check: no XML parser is a dependency). */
function balanced(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (selfClose) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name);
  }
  return stack.length === 0;
}

const source = ['the', 'cat', '<eos>'];
const target = ['el', 'gato', '<eos>'];
// Binary fractions, so a float32 tensor holds exactly the same values as the arrays.
const weights = [
  [0.875, 0.0625, 0.0625],
  [0.125, 0.75, 0.125],
  [0, 0.25, 0.75],
];

describe('attentionHeatmapSvg', () => {
  it('draws one cell per weight, coloured by viridis on [0, max], with the labels escaped', () => {
    const svg = attentionHeatmapSvg(weights, source, target, { title: 'A & B' });
    expect(balanced(svg)).toBe(true);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    const cells = [
      ...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="28" height="28" fill="(#[0-9a-f]{6})">/g),
    ];
    expect(cells.map((c) => c[1])).toEqual(weights.flat().map((v) => viridis(v / 0.875)));
    expect(svg).toContain('&lt;eos&gt;');
    expect(svg).toContain('A &amp; B');
    expect(svg).not.toContain('<eos>');
    // Source labels are rotated; target labels are not.
    expect(svg).toMatch(/transform="rotate\(-45 [^"]+\)">cat</);
    expect(svg).toMatch(/text-anchor="end" dominant-baseline="middle">gato</);
    expect(svg).toContain('id="colorbar"');
  });

  it('maps 0 and 1 to the ends of viridis (#440154 and #fde725)', () => {
    expect(viridis(0)).toBe('#440154');
    expect(viridis(1)).toBe('#fde725');
    expect(viridis(2)).toBe('#fde725');
  });

  it('takes a 2-D tensor as well as nested arrays, and rejects other shapes by name', () => {
    const t = k.tensor(weights);
    expect(attentionHeatmapSvg(t, source, target)).toBe(attentionHeatmapSvg(weights, source, target));
    expect(() => attentionHeatmapSvg(t.unsqueeze(0), source, target)).toThrow(
      /attentionHeatmapSvg: expected a 2-D attention matrix \[target, source\], got shape \[1, 3, 3\]/,
    );
    expect(() => attentionHeatmapSvg(weights, ['a', 'b'], target)).toThrow(
      /matrix \[3, 3\] does not match 3 target and 2 source labels \(expected \[3, 2\]\)/,
    );
  });

  it('writes the document to a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-heatmap-'));
    const file = join(dir, 'attention.svg');
    await writeAttentionHeatmap(file, k.tensor(weights), source, target);
    expect(await readFile(file, 'utf8')).toBe(attentionHeatmapSvg(weights, source, target));
    await rm(dir, { recursive: true });
  });
});
