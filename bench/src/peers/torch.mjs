// The PyTorch peer: finds Debian's python3-torch and the OpenBLAS that PEERS.md requires, and runs
// peers/torch_bench.py on the same cases and timing policy as the Kiln side. It never installs
// anything; setup-peers.sh does that.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CACHE_DIR, PEERS_DIR } from '../paths.mjs';

const PYTHON = process.env.KILN_BENCH_PYTHON || '/usr/bin/python3';

/**
 * @typedef {object} TorchCaseResult
 * @property {string} workload
 * @property {string} label
 * @property {string} [error]
 * @property {number} [medianMs]
 * @property {number} [minMs]
 * @property {number} [warmups]
 * @property {number} [reps]
 * @property {number[]} [samplesMs]
 * @property {boolean} [timeBoxed]
 *
 * @typedef {object} TorchPeer
 * @property {string} python
 * @property {string | null} openblasDir  the directory put on LD_LIBRARY_PATH, when found
 * @property {number} threads
 *
 * @typedef {object} TorchInfo
 * @property {string} torch
 * @property {string} python
 * @property {number} threads
 * @property {{ name: string, path: string }} blas what the Python process actually loaded
 * @property {string} label                       the table's column title
 */

/**
 * OpenBLAS's OpenMP build, extracted by setup-peers.sh under .cache/openblas (or by hand under
 * /tmp/openblas, as PEERS.md shows). The pthread build fights torch's own threads for the cores.
 * @returns {string | null}
 */
function findOpenblas() {
  for (const root of [join(CACHE_DIR, 'openblas'), '/tmp/openblas']) {
    const libRoot = join(root, 'usr', 'lib');
    if (!existsSync(libRoot)) continue;
    for (const arch of readdirSync(libRoot)) {
      const dir = join(libRoot, arch, 'openblas-openmp');
      if (existsSync(join(dir, 'libblas.so.3'))) return dir;
    }
  }
  return null;
}

/** @param {string | null} openblasDir @param {number} threads */
function peerEnv(openblasDir, threads) {
  /** @type {NodeJS.ProcessEnv} */
  const env = { ...process.env, OMP_NUM_THREADS: String(threads) };
  if (openblasDir) env.LD_LIBRARY_PATH = [openblasDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}

/**
 * The Python to run and its environment; whether it can import torch shows when the session
 * starts.
 * @param {number} threads
 * @returns {{ peer: TorchPeer | null, skipped?: string }}
 */
export function findTorch(threads) {
  if (!existsSync(PYTHON)) {
    return {
      peer: null,
      skipped: `${PYTHON} not found (run bench/setup-peers.sh, or set KILN_BENCH_PYTHON)`,
    };
  }
  return { peer: { python: PYTHON, openblasDir: findOpenblas(), threads } };
}

/**
 * One long-lived Python process: the harness times a case on Kiln, then asks here for the same
 * case, so both are measured back to back under the same load on this shared machine.
 */
export class TorchSession {
  /** @type {import('node:child_process').ChildProcessWithoutNullStreams} */
  #proc;
  /** @type {((line: string | null) => void)[]} */
  #waiting = [];
  #stderr = '';
  /** @type {TorchInfo | null} */
  info = null;

  /** @param {TorchPeer} peer @param {import('../harness.mjs').Policy} policy */
  constructor(peer, policy) {
    this.#proc = spawn(peer.python, [join(PEERS_DIR, 'torch_bench.py')], {
      env: peerEnv(peer.openblasDir, peer.threads),
    });
    this.#proc.stderr.on('data', (chunk) => {
      this.#stderr += chunk;
    });
    const lines = createInterface({ input: this.#proc.stdout });
    lines.on('line', (line) => this.#waiting.shift()?.(line));
    lines.on('close', () => {
      for (const resolve of this.#waiting.splice(0)) resolve(null);
    });
    this.#proc.stdin.write(`${JSON.stringify({ policy, threads: peer.threads })}\n`);
  }

  /** @returns {Promise<unknown>} */
  async #next() {
    const line = await new Promise((resolve) => this.#waiting.push(resolve));
    if (line === null) {
      const why = this.#stderr.trim().split('\n').pop() || 'no output';
      throw new Error(`peers/torch_bench.py stopped: ${why}`);
    }
    return JSON.parse(line);
  }

  /**
   * The torch version and the BLAS the process loaded (known once it has started).
   * @returns {Promise<TorchInfo>}
   */
  async start() {
    const out = /** @type {Omit<TorchInfo, 'label'>} */ (await this.#next());
    const fair = out.blas.name === 'openblas';
    this.info = {
      torch: out.torch,
      python: out.python,
      threads: out.threads,
      blas: out.blas,
      label: fair ? `PyTorch ${out.torch} + OpenBLAS` : 'PyTorch (reference BLAS — not a fair peer)',
    };
    return this.info;
  }

  /**
   * @param {{ workload: string, label: string, params: object, policy?: import('../harness.mjs').Policy }} c
   *   `policy`: the one the workload ran under on Kiln (workloads may set their own)
   * @returns {Promise<TorchCaseResult>}
   */
  run(c) {
    const result = /** @type {Promise<TorchCaseResult>} */ (this.#next());
    this.#proc.stdin.write(`${JSON.stringify(c)}\n`);
    return result;
  }

  close() {
    this.#proc.stdin.end();
  }
}
