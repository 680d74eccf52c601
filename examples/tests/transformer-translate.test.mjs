// The English -> Spanish Transformer example: a two-step run writes every output (model folder,
// loss curve, attention heat map, samples) and its metrics line; the default run (600 seeded steps,
// the README's figures) must beat the copy-the-source BLEU baseline clearly, greedy and beam. The
// default run takes minutes, so it runs under CI or with KILN_SLOW=1 and is reported skipped otherwise.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runExample, SLOW, SLOW_REASON } from './run-example.mjs';

const lastJson = (log) => JSON.parse(log.trim().split('\n').at(-1));

test('a two-step run writes the model, loss curve, heat map and samples, and reports BLEU', () => {
  const out = mkdtempSync(join(tmpdir(), 'kiln-transformer-'));
  const result = lastJson(runExample('transformer-translate.mjs', ['--steps', '2', '--test-pairs', '8', '--beam-eval', '4', '--out', out]));
  assert.equal(result.steps, 2);
  assert.equal(result.heldOut, 8);
  assert.equal(result.beamPairs, 4);
  assert.ok(result.bleu >= 0 && result.copyBleu >= 0);
  for (const file of ['model/config.json', 'model/model.safetensors', 'loss.svg', 'attention.svg', 'samples.txt'])
    assert.ok(existsSync(join(out, file)), `${file} written`);
  assert.ok(readFileSync(join(out, 'attention.svg'), 'utf8').startsWith('<svg'));
});

test('the default run beats the copy-the-source BLEU baseline clearly', { skip: !SLOW && SLOW_REASON }, () => {
  const out = mkdtempSync(join(tmpdir(), 'kiln-transformer-full-'));
  const result = lastJson(runExample('transformer-translate.mjs', ['--out', out]));
  console.log(
    `BLEU ${result.bleu} (copy baseline ${result.copyBleu}), beam ${result.beamBleu} on ${result.beamPairs} verses, ${result.steps} steps in ${result.seconds} s`,
  );
  // BLEU is on sacreBLEU's 0-100 scale.
  assert.ok(result.bleu >= result.copyBleu + 3, `BLEU ${result.bleu} is not clearly above the copy baseline ${result.copyBleu}`);
  assert.ok(result.beamBleu > result.copyBleu, `beam-search BLEU ${result.beamBleu} <= copy baseline ${result.copyBleu}`);
  assert.match(readFileSync(result.heatmap, 'utf8'), /<rect [^>]*fill="#[0-9a-f]{6}"><title>/, 'heat map cells written');
});
