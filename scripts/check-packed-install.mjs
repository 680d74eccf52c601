// Packs @kiln/core and @kiln/backend-cpu as the registry would receive them, installs only those
// two tarballs into an empty folder outside the workspace, and runs the core README's example
// there (ESM and CommonJS), so a broken `exports` map, a missing file or a workspace-only import
// fails CI rather than a user.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'kiln-packed-'));
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

for (const pkg of ['core', 'backend-cpu']) {
  run('npx', ['-y', 'pnpm@10', 'pack', '--pack-destination', work], join(root, 'packages', pkg));
}
const tarballs = readdirSync(work).filter((f) => f.endsWith('.tgz'));
writeFileSync(
  join(work, 'package.json'),
  JSON.stringify({ name: 'packed-check', private: true, type: 'module' }),
);
run('npm', ['install', '--no-audit', '--no-fund', ...tarballs.map((t) => `./${t}`)], work);

// The example is the first ```js block after the <!-- example:core --> marker in the core README.
const readme = readFileSync(join(root, 'packages/core/README.md'), 'utf8');
const match = /<!-- example:core -->\s*```(?:js|ts)\n([\s\S]*?)```/.exec(readme);
if (!match) throw new Error('packages/core/README.md: no ```js block after <!-- example:core -->');
writeFileSync(join(work, 'example.mjs'), match[1]);
console.log(run('node', ['example.mjs'], work));

// CommonJS consumers get the same API through the `require` condition.
writeFileSync(
  join(work, 'example.cjs'),
  "require('@kiln/backend-cpu'); const k = require('@kiln/core'); console.log('cjs:', k.ones([2, 2]).sum().itemSync());\n",
);
console.log(run('node', ['example.cjs'], work));
console.log(`packed install check passed in ${work} (${tarballs.join(', ')})`);
