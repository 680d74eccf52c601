// The conformance and PyTorch-parity suites on the native path: KILN_CPU_NATIVE=1 (the addon is
// required) and KILN_CPU_NATIVE_THRESHOLD=0 (every eligible call goes native, however small, since
// the op database's samples are tiny). Where the addon was not built this prints why it is skipped
// and exits 0; `--require` (CI on a machine with a compiler) makes that a failure.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = process.env.KILN_CPU_NATIVE_PATH || join(root, 'build', 'Release', 'kiln_cpu.node');
if (!existsSync(addon)) {
  const msg = `native conformance run SKIPPED: ${addon} does not exist (run \`pnpm --filter @kiln/backend-cpu run build:native\`)`;
  console.log(msg);
  process.exit(process.argv.includes('--require') ? 1 : 0);
}
const files = ['src/conformance.test.ts', 'src/pytorch-parity.test.ts'];
console.log(`native conformance run: ${files.join(' ')} with KILN_CPU_NATIVE=1 KILN_CPU_NATIVE_THRESHOLD=0`);
const run = spawnSync('vitest', ['run', ...files], {
  cwd: root,
  stdio: 'inherit',
  shell: process.platform === 'win32',
  env: { ...process.env, KILN_CPU_NATIVE: '1', KILN_CPU_NATIVE_THRESHOLD: '0' },
});
process.exit(run.status ?? 1);
