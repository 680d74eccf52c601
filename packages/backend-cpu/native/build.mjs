// Builds build/Release/kiln_cpu.node with node-gyp. `--strict` (the build:native script) fails on
// any error; without it (the package's `build`), a failed native build prints one line and exits 0,
// since the TypeScript kernels serve wherever the addon is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const strict = process.argv.includes('--strict');
const asan = process.argv.includes('--asan');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function give(reason) {
  if (strict) {
    console.error(`@kiln/backend-cpu: native build failed: ${reason}`);
    process.exit(1);
  }
  console.log(`@kiln/backend-cpu: native addon not built (${reason}); the TypeScript kernels will serve.`);
  process.exit(0);
}

if (process.env.KILN_CPU_SKIP_NATIVE_BUILD === '1') give('KILN_CPU_SKIP_NATIVE_BUILD=1');

let nodeGyp;
try {
  nodeGyp = createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
} catch {
  give('node-gyp is not installed');
}

// Node's headers: an explicit nodedir, else the ones a system Node ships beside its binary (no
// download), else node-gyp's own cache or download.
// An existing configuration builds incrementally (make: a no-op when nothing changed); the first
// build, and the ASan one, configure from scratch.
const asanMarker = join(root, 'build', 'asan-build');
const configured =
  existsSync(join(root, 'build', 'config.gypi')) && existsSync(join(root, 'build', 'Makefile')) && !existsSync(asanMarker);
const args = [nodeGyp, configured && !asan ? 'build' : 'rebuild', '--jobs=max'];
const prefix = join(dirname(process.execPath), '..');
const nodedir =
  process.env.npm_config_nodedir ||
  (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
if (nodedir) args.push(`--nodedir=${nodedir}`);
if (asan) args.push('--', '-Dasan=1');

const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
if (run.error) give(run.error.message);
if (run.status !== 0) {
  const log = `${run.stdout}\n${run.stderr}`;
  if (strict) process.stderr.write(log);
  const firstError = log.split('\n').find((l) => /error|not found|No such file/i.test(l)) ?? `exit ${run.status}`;
  give(`node-gyp: ${firstError.trim().slice(0, 200)}`);
}
if (asan) writeFileSync(asanMarker, 'the next build reconfigures without AddressSanitizer\n');
console.log(`@kiln/backend-cpu: native addon built${asan ? ' with AddressSanitizer' : ''} (build/Release/kiln_cpu.node)`);
