// End-to-end check of the Fashion-MNIST example: trains both models on the full data and requires
// the accuracies issue 4 asks for (MLP >= 85%, CNN >= 89%). Slow (minutes), so it runs under CI or
// with KILN_SLOW=1, and is reported skipped (saying why) otherwise.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runExample, SLOW, SLOW_REASON } from './run-example.mjs';

const TARGETS = { mlp: 0.85, cnn: 0.89 };

test('fashion-mnist: MLP >= 85% and CNN >= 89% test accuracy', { skip: !SLOW && SLOW_REASON }, () => {
  const out = mkdtempSync(join(tmpdir(), 'kiln-fashion-mnist-'));
  const log = runExample('fashion-mnist.mjs', ['--out', out]);
  const { testAccuracy } = JSON.parse(log.trim().split('\n').at(-1));
  for (const [model, target] of Object.entries(TARGETS)) {
    console.log(`${model}: test accuracy ${(testAccuracy[model] * 100).toFixed(2)}% (target ${target * 100}%)`);
    assert.ok(testAccuracy[model] >= target, `${model} accuracy ${testAccuracy[model]} < ${target}`);
  }
});
