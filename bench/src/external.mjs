// Workloads whose own script does the timing (W7 lives in the tokenizers package). The harness
// builds the script's package, runs it with this run's timing policy in the environment, prints
// its output as it comes, and collects the JSON it may leave in KILN_BENCH_RESULT_FILE.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR, REPO_ROOT } from './paths.mjs';

/**
 * @typedef {object} ExternalResult
 * @property {'not-available' | 'build-failed' | 'failed' | 'ok'} status
 * @property {string} message
 * @property {unknown} [result] the JSON the script wrote to KILN_BENCH_RESULT_FILE, if any
 */

/**
 * @param {import('./workload').ExternalWorkload} workload
 * @param {import('./harness.mjs').Policy} policy
 * @param {{ build: boolean }} opts
 * @param {Record<string, unknown>} [options]  the values of the workload's own options
 * @returns {ExternalResult}
 */
export function runExternal(workload, policy, opts, options = {}) {
  const script = join(REPO_ROOT, workload.script);
  if (!existsSync(script)) {
    return {
      status: 'not-available',
      message: `${workload.id}: not available yet (${workload.script} does not exist)`,
    };
  }
  if (workload.buildPackage && opts.build) {
    const turbo = join(REPO_ROOT, 'node_modules', '.bin', 'turbo');
    const build = spawnSync(
      turbo,
      ['run', 'build', `--filter=${workload.buildPackage}`, '--output-logs=errors-only'],
      {
        cwd: REPO_ROOT,
        stdio: 'inherit',
      },
    );
    if (build.status !== 0) {
      return {
        status: 'build-failed',
        message:
          `${workload.id}: building ${workload.buildPackage} failed; skipped ` +
          '(turbo needs pnpm on PATH: run through `pnpm bench`, or build it yourself and pass --no-build)',
      };
    }
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  const resultFile = join(CACHE_DIR, `${workload.id.toLowerCase()}-result.json`);
  rmSync(resultFile, { force: true });
  const run = spawnSync(process.execPath, [script, ...(workload.args?.(resultFile, options) ?? [])], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
    env: { ...process.env, KILN_BENCH_RESULT_FILE: resultFile, KILN_BENCH_POLICY: JSON.stringify(policy) },
  });
  if (run.status !== 0) {
    return {
      status: 'failed',
      message: `${workload.id}: ${workload.script} exited with status ${run.status}`,
    };
  }
  const result = existsSync(resultFile) ? JSON.parse(readFileSync(resultFile, 'utf8')) : undefined;
  return { status: 'ok', message: `${workload.id}: done`, result };
}
