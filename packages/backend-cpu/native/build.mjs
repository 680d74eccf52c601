// Builds build/Release/kiln_cpu.node with node-gyp. `--strict` (the build:native script) fails on
// any error; without it (the package's `build`), a failed native build prints one line and exits 0,
// since the TypeScript kernels serve wherever the addon is missing.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const strict = process.argv.includes('--strict');
const asan = process.argv.includes('--asan');
const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
// The AddressSanitizer build goes to build-asan/, never over build/Release: an instrumented addon
// aborts any process that loads it without libasan preloaded, and other processes may load
// build/Release at any time. It builds from a copy of the sources in build-asan/.
const root = asan ? join(pkg, 'build-asan') : pkg;
if (asan) {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  cpSync(join(pkg, 'binding.gyp'), join(root, 'binding.gyp'));
  cpSync(join(pkg, 'native', 'src'), join(root, 'native', 'src'), { recursive: true });
  symlinkSync(join(pkg, 'node_modules'), join(root, 'node_modules'));
}

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
  nodeGyp = createRequire(join(pkg, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
} catch {
  give('node-gyp is not installed');
}

// Node's headers: an explicit nodedir, else the ones a system Node ships beside its binary (no
// download), else node-gyp's own cache or download.
// An existing configuration builds incrementally (make: a no-op when nothing changed); the first
// build, and the ASan one, configure from scratch.
const configured = existsSync(join(root, 'build', 'config.gypi')) && existsSync(join(root, 'build', 'Makefile'));
const args = [nodeGyp, configured && !asan ? 'build' : 'rebuild', '--jobs=max'];
const prefix = join(dirname(process.execPath), '..');
const nodedir =
  process.env.npm_config_nodedir ||
  (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined);
if (nodedir) args.push(`--nodedir=${nodedir}`);
if (asan) args.push('--kiln_asan=1');

const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
if (run.error) give(run.error.message);
if (run.status !== 0) {
  const log = `${run.stdout}\n${run.stderr}`;
  if (strict) process.stderr.write(log);
  const firstError = log.split('\n').find((l) => /error|not found|No such file/i.test(l)) ?? `exit ${run.status}`;
  give(`node-gyp: ${firstError.trim().slice(0, 200)}`);
}
console.log(
  asan
    ? '@kiln/backend-cpu: AddressSanitizer addon built (build-asan/build/Release/kiln_cpu.node): run it with ' +
        'KILN_CPU_NATIVE_PATH=<that file> LD_PRELOAD=$(g++ -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0'
    : '@kiln/backend-cpu: native addon built (build/Release/kiln_cpu.node)',
);
