// End-to-end check of the main job (README quick start): trains both models on the full data and
// requires the accuracies issue 4 asks for (MLP >= 85%, CNN >= 89%). Slow (minutes), so it runs
// under CI or with KILN_SLOW=1, and says so when it does not run.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TARGETS = { mlp: 0.85, cnn: 0.89 };
const report = (passed, failed, skipped) => {
  if (process.env.CI) {
    const r = { numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped };
    writeFileSync(join(import.meta.dirname, 'test-report.json'), JSON.stringify(r));
  }
  console.log(`examples: ${passed} passed, ${failed} failed, ${skipped} skipped`);
};

if (!process.env.CI && process.env.KILN_SLOW !== '1') {
  console.log('fashion-mnist end-to-end: skipped (takes minutes; set KILN_SLOW=1 to run it, CI always does)');
  report(0, 0, 1);
  process.exit(0);
}

const out = mkdtempSync(join(tmpdir(), 'kiln-fashion-mnist-'));
const log = execFileSync('node', [join(import.meta.dirname, 'fashion-mnist.mjs'), '--out', out], {
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});
process.stdout.write(log);
const { testAccuracy } = JSON.parse(log.trim().split('\n').at(-1));
let failed = 0;
for (const [model, target] of Object.entries(TARGETS)) {
  const ok = testAccuracy[model] >= target;
  if (!ok) failed++;
  console.log(
    `${ok ? 'PASS' : 'FAIL'} ${model}: test accuracy ${(testAccuracy[model] * 100).toFixed(2)}% (target ${target * 100}%)`,
  );
}
report(Object.keys(TARGETS).length - failed, failed, 0);
process.exit(failed ? 1 : 0);
