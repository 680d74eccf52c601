// Shared by the example tests: run one example script as a user would (a child Node process) and
// return its stdout; stderr (progress bars) passes through to the test log.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Full end-to-end runs take minutes: CI always runs them, locally KILN_SLOW=1 does. */
export const SLOW = Boolean(process.env.CI) || process.env.KILN_SLOW === '1';
export const SLOW_REASON = 'takes minutes; set KILN_SLOW=1 to run it (CI always does)';

export function runExample(script, args = [], env = {}) {
  return execFileSync('node', [join(import.meta.dirname, '..', script), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
}
