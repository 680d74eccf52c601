// The conformance and PyTorch-parity suites on the native path: KILN_CPU_NATIVE=1 (the addon is
// required) and KILN_CPU_NATIVE_THRESHOLD=0 (every eligible call goes native, however small, since
// the op database's samples are tiny). Where the addon was not built this prints why it is skipped
// and exits 0; `--require` (CI on a machine with a compiler) makes that a failure. `--asan` runs the
// AddressSanitizer build (build:native:asan) instead, with libasan preloaded, and adds the
// native-vs-TypeScript kernel tests, the fused attention tests and the elementwise fusion tests.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const asan = process.argv.includes('--asan');
const addon = asan
  ? join(root, 'build-asan', 'build', 'Release', 'kiln_cpu.node')
  : process.env.KILN_CPU_NATIVE_PATH || join(root, 'build', 'Release', 'kiln_cpu.node');
// KILN_CPU_POOL_POISON=1: every reused buffer starts as NaN, so an op that read its output before
// writing it would fail here (see src/native/buffer-pool.ts).
const env = {
  ...process.env,
  KILN_CPU_NATIVE: '1',
  KILN_CPU_NATIVE_THRESHOLD: '0',
  KILN_CPU_POOL_POISON: '1',
  // CI's summary counts this run beside the TypeScript run's report.
  KILN_TEST_REPORT: 'native-test-report.json',
};
if (asan) {
  const libasan = spawnSync('g++', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
  Object.assign(env, { KILN_CPU_NATIVE_PATH: addon, LD_PRELOAD: libasan, ASAN_OPTIONS: 'detect_leaks=0' });
}
if (!existsSync(addon)) {
  const msg = `native conformance run SKIPPED: ${addon} does not exist (run \`pnpm --filter @kiln/backend-cpu run build:native\`)`;
  console.log(msg);
  process.exit(process.argv.includes('--require') ? 1 : 0);
}
const files = [
  'src/conformance.test.ts',
  'src/pytorch-parity.test.ts',
  'src/conv.test.ts',
  ...(asan ? ['src/native-kernels.test.ts', 'src/native/attention.test.ts', 'src/native/fusion.test.ts'] : []),
];
console.log(
  `native conformance run${asan ? ' under AddressSanitizer' : ''}: ${files.join(' ')} with KILN_CPU_NATIVE=1 KILN_CPU_NATIVE_THRESHOLD=0 KILN_CPU_POOL_POISON=1`,
);
// vitest's own entry, run by this Node: works outside `pnpm run` too, where .bin is not on PATH.
const vitest = join(dirname(createRequire(join(root, 'package.json')).resolve('vitest/package.json')), 'vitest.mjs');
const run = spawnSync(process.execPath, [vitest, 'run', ...files], { cwd: root, stdio: 'inherit', env });
if (run.error) console.error(`native conformance run: ${run.error.message}`);
process.exit(run.status ?? 1);
