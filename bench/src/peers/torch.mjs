// The PyTorch peer: finds Debian's python3-torch and the OpenBLAS that PEERS.md requires, and runs
// peers/torch_bench.py on the same cases, its repetitions interleaved with Kiln's. It never installs
// anything; setup-peers.sh does that.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CACHE_DIR, PEERS_DIR } from '../paths.mjs';

const PYTHON = process.env.KILN_BENCH_PYTHON || '/usr/bin/python3';

/**
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
 * One long-lived Python process: the harness sets up each case here as well as on Kiln and
 * alternates blocks of repetitions between the two, so both are measured under the same load on
 * this shared machine.
 */
export class TorchSession {
  /** @type {import('node:child_process').ChildProcessWithoutNullStreams} */
  #proc;
  /** @type {((line: string | null) => void)[]} */
  #waiting = [];
  #stderr = '';
  /** @type {TorchInfo | null} */
  info = null;

  /** @param {TorchPeer} peer */
  constructor(peer) {
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
    this.#proc.stdin.write(`${JSON.stringify({ threads: peer.threads })}\n`);
  }

  /** @returns {Promise<Record<string, unknown>>} */
  async #next() {
    const line = await new Promise((resolve) => this.#waiting.push(resolve));
    if (line === null) {
      const why = this.#stderr.trim().split('\n').pop() || 'no output';
      throw new Error(`peers/torch_bench.py stopped: ${why}`);
    }
    return JSON.parse(line);
  }

  /**
   * One request and its reply; a reply with `error` throws it.
   * @param {Record<string, unknown>} message
   */
  async #request(message) {
    const reply = this.#next();
    this.#proc.stdin.write(`${JSON.stringify(message)}\n`);
    const out = await reply;
    if (typeof out.error === 'string') throw new Error(out.error);
    return out;
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
   * Sets up a case in the Python process and returns it as a harness Side (its warm-ups and
   * blocks of timed repetitions run there when asked); `dispose` frees it.
   * @param {{ workload: string, label: string, params: object }} c
   * @returns {Promise<import('../harness.mjs').Side & { dispose: () => Promise<void> }>}
   */
  async open(c) {
    await this.#request({ cmd: 'setup', ...c });
    return {
      warmUp: async (policy) =>
        /** @type {import('../harness.mjs').WarmUp} */ (
          /** @type {unknown} */ (await this.#request({ cmd: 'warmup', policy }))
        ),
      time: async (reps) => /** @type {number[]} */ ((await this.#request({ cmd: 'time', reps })).samplesMs),
      dispose: async () => {
        await this.#request({ cmd: 'dispose' });
      },
    };
  }

  close() {
    this.#proc.stdin.end();
  }
}
