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

/** Backends whose test files run the conformance suite, and on which device. */
function conformingBackends(): string[] {
  const devices: string[] = [];
  for (const dir of readdirSync(packagesDir)
    .filter((d) => d.startsWith('backend-'))
    .sort()) {
    const src = join(packagesDir, dir, 'src');
    if (!existsSync(src)) continue;
    for (const f of readdirSync(src).filter((n) => n.endsWith('.test.ts'))) {
      const m = /runConformanceSuite\('([^']+)'/.exec(readFileSync(join(src, f), 'utf8'));
      if (m && !devices.includes(m[1])) devices.push(m[1]);
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
    const marks = all.map((d) => (devices.includes(d) ? '✓' : '—'));
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
