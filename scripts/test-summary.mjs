// Sums the JSON reports every package's vitest run writes under CI (see vitest.config.ts) into one
// closing line, "Tests: N passed, N failed, N skipped", so a CI log ends with the whole count.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
for (const group of ['packages', '.']) {
  if (!existsSync(group)) continue;
  const dirs = group === '.' ? ['bench', 'examples'] : readdirSync(group).map((d) => join(group, d));
  for (const dir of dirs) {
    for (const [name, label] of [
      ['test-report.json', dir],
      ['native-test-report.json', `${dir} (native)`],
      ['browser-test-report.json', `${dir} (chromium)`],
    ]) {
      const file = join(dir, name);
      if (!existsSync(file)) continue;
      const r = JSON.parse(readFileSync(file, 'utf8'));
      passed += r.numPassedTests;
      failed += r.numFailedTests;
      skipped += r.numPendingTests + (r.numTodoTests ?? 0);
      rows.push(
        `${label.padEnd(38)} ${String(r.numPassedTests).padStart(5)} passed ${String(r.numFailedTests).padStart(3)} failed ${String(r.numPendingTests).padStart(3)} skipped`,
      );
    }
  }
}
console.log(rows.join('\n'));
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
