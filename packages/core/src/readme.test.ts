// The op x backend table in README.md is generated from the op database: this test fails when the
// README is stale and rewrites it when run with KILN_UPDATE_README=1.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { OP_GROUPS } from './testing/opdb.js';

const packagesDir = join(import.meta.dirname, '..', '..');
const readmePath = join(import.meta.dirname, '..', 'README.md');
const BEGIN = '<!-- op-table:begin (generated from src/testing/opdb.ts by src/readme.test.ts) -->';
const END = '<!-- op-table:end -->';

/**
 * Devices whose backend tests run the conformance suite, each with the filter it passes (a regex
 * literal `filter: /.../`), so the table shows what each backend really runs.
 */
function conformingBackends(): Map<string, RegExp | null> {
  const devices = new Map<string, RegExp | null>();
  for (const dir of readdirSync(packagesDir)
    .filter((d) => d.startsWith('backend-'))
    .sort()) {
    const src = join(packagesDir, dir, 'src');
    if (!existsSync(src)) continue;
    for (const f of readdirSync(src).filter((n) => n.endsWith('.test.ts'))) {
      const text = readFileSync(join(src, f), 'utf8');
      const m = /runConformanceSuite\('([^']+)'(?:,\s*\{[^}]*filter:\s*\/((?:\\.|[^/])+)\/([a-z]*))?/.exec(
        text,
      );
      if (m && !devices.has(m[1])) devices.set(m[1], m[2] ? new RegExp(m[2], m[3]) : null);
    }
  }
  return devices;
}

function table(): string {
  const devices = conformingBackends();
  const all = ['cpu', 'webgpu', 'cuda'];
  const head = `| family | conformance entries (forward + gradient, float32 vs float64 reference) | ${all.join(' | ')} |`;
  const rule = `|---|---|${all.map(() => ':-:').join('|')}|`;
  const rows = Object.entries(OP_GROUPS).map(([family, ops]) => {
    const marks = all.map((d) => {
      if (!devices.has(d)) return '—';
      const filter = devices.get(d);
      const covered = ops.filter((o) => !filter || filter.test(o.name)).length;
      return covered === ops.length ? '✓' : `${covered}/${ops.length}`;
    });
    return `| ${family} | ${ops.map((o) => `\`${o.name}\``).join(' ')} | ${marks.join(' | ')} |`;
  });
  return [BEGIN, head, rule, ...rows, END].join('\n');
}

it('README op table matches the op database and the backends that run the conformance suite', () => {
  const readme = readFileSync(readmePath, 'utf8');
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  expect(start, 'README has the op-table markers').toBeGreaterThanOrEqual(0);
  const current = readme.slice(start, end + END.length);
  const expected = table();
  if (process.env.KILN_UPDATE_README === '1' && current !== expected) {
    writeFileSync(readmePath, readme.slice(0, start) + expected + readme.slice(end + END.length));
    return;
  }
  expect(current).toBe(expected);
});
