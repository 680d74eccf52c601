// End-to-end check of the English -> Spanish Seq2Seq example: a bounded training run must beat the
// copy-the-source baseline's BLEU on the held-out verses by a clear margin, and write a well-formed
// attention heat map (SVG) and loss curve. Slow (minutes), so it runs under CI or with KILN_SLOW=1.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runExample, SLOW, SLOW_REASON } from './run-example.mjs';

/** Every tag closes in order: the SVG is a well-formed XML document (no parser dependency). */
function wellFormedSvg(text) {
  if (!text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')) return false;
  const stack = [];
  for (const [, close, name, selfClose] of text.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (selfClose) continue;
    if (close) {
      if (stack.pop() !== name) return false;
    } else stack.push(name);
  }
  return stack.length === 0;
}

test('seq2seq-translate: BLEU well above the copy baseline, heat map written', { skip: !SLOW && SLOW_REASON }, () => {
  const out = mkdtempSync(join(tmpdir(), 'kiln-seq2seq-'));
  // The default 600 steps (seed 0) gave greedy BLEU 5.19 against the baseline's 1.02.
  const log = runExample('seq2seq-translate.mjs', ['--out', out, '--beam-eval', '50']);
  const result = JSON.parse(log.trim().split('\n').at(-1));
  console.log(`BLEU ${result.bleu} (copy baseline ${result.copyBleu}), beam ${result.beamBleu}, ${result.steps} steps`);
  assert.ok(result.bleu >= result.copyBleu + 2.5, `BLEU ${result.bleu} is not clearly above the copy baseline ${result.copyBleu}`);
  assert.ok(result.beamBleu > result.copyBleu, `beam-search BLEU ${result.beamBleu} <= copy baseline ${result.copyBleu}`);
  const svg = readFileSync(result.heatmap, 'utf8');
  assert.ok(wellFormedSvg(svg), 'the heat map is not a well-formed SVG document');
  assert.match(svg, /<rect [^>]*fill="#[0-9a-f]{6}"><title>/, 'the heat map has no cells');
  assert.ok(wellFormedSvg(readFileSync(result.lossCurve, 'utf8')), 'the loss curve is not a well-formed SVG document');
});
