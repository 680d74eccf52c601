// The Kiln CPU paths a run compares: the native addon of @kiln/backend-cpu (its own thread pool,
// KILN_CPU_THREADS or every core) and the portable TypeScript kernels (one JS thread). Both are
// the same 'cpu' device; switching re-registers it, so each case's setup runs on the path timed.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createCpuBackend } from '@kiln/backend-cpu';
import { registerBackend } from '@kiln/core';
import { REPO_ROOT } from './paths.mjs';

/**
 * @typedef {object} KilnVariant
 * @property {'native' | 'ts'} id
 * @property {string} label        the table's "Kiln" cell
 * @property {string} description
 * @property {string | null} unavailable  why this path cannot run here, or null
 * @property {() => void} use      makes 'cpu' this path
 */

/** @returns {string} the addon's own description, when its build output can be read */
function nativeDetail() {
  try {
    const pkg = join(REPO_ROOT, 'packages', 'backend-cpu');
    const addon = createRequire(join(pkg, 'package.json'))(join(pkg, 'build', 'Release', 'kiln_cpu.node'));
    const { info } = /** @type {{ info: { gemmKernel: string, threads: number } }} */ (addon);
    return `${info.gemmKernel} SGEMM, ${info.threads} threads`;
  } catch {
    return 'details unknown';
  }
}

/** @returns {KilnVariant[]} */
export function kilnVariants() {
  let unavailable = null;
  try {
    createCpuBackend({ native: true });
  } catch (e) {
    unavailable = e instanceof Error ? e.message : String(e);
  }
  return [
    {
      id: 'native',
      label: 'native',
      description: `@kiln/backend-cpu native addon (${unavailable ? 'unavailable' : nativeDetail()})`,
      unavailable,
      use: () => registerBackend('cpu', () => createCpuBackend({ native: true })),
    },
    {
      id: 'ts',
      label: 'TS',
      description: '@kiln/backend-cpu TypeScript kernels (KILN_CPU_NATIVE=0), one JS thread',
      unavailable: null,
      use: () => registerBackend('cpu', () => createCpuBackend({ native: false })),
    },
  ];
}
