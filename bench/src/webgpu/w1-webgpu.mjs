// W1 on WebGPU: matmul [N,N] x [N,N] fp32 on Kiln's 'webgpu' device, on TF.js's WebGPU backend and
// on jax-js's WebGPU backend, in this one process, on one adapter, each case timed on the three
// back to back (the same load). Run by the harness as the external workload W1-webgpu
// (src/workloads/w1-webgpu.mjs); standalone: `node bench/src/webgpu/w1-webgpu.mjs --n 256,512`.
//
// In Node the adapter comes from the npm package `webgpu` (Dawn's dawn.node). Without a GPU that is
// SwiftShader (Vulkan on the CPU), which Debian's chromium package ships: this script points
// VK_ICD_FILENAMES at it when the file exists and the variable is unset. SwiftShader figures say
// nothing about real GPUs (see bench/README.md).
//
// One repetition = the product, then reading back ONE element of it (a 1x1 slice, `await data()`).
// The readback is a mapAsync, which resolves only once the queue has finished everything submitted
// before it, matmul included, so GPU completion is inside every system's timed interval. jax-js is
// lazy (a slice of an unrealised product could be fused into computing one element), so its product
// is realised first (`blockUntilReady`) and the element sliced from the realised array.
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { DEFAULT_POLICY, measure } from '../harness.mjs';
import { intList } from '../options.mjs';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const DEFAULT_N = [256, 512, 1024];

/**
 * @typedef {{ medianMs: number, minMs: number, warmups: number, reps: number, timeBoxed: boolean,
 *   samplesMs: number[], gflops: number, element: number } | { error: string }} SystemTiming
 *
 * @typedef {object} System
 * @property {string} id
 * @property {string} label
 * @property {string | null} version
 * @property {string | null} unavailable   why it cannot run here, or null
 * @property {(host: Float32Array, n: number) => Promise<{ once: () => Promise<number>, dispose: () => void }>} setup
 *   uploads A and B (the same host data for every system); `once` runs one repetition and
 *   returns the element read back
 */

/** @param {string[]} argv */
function parseArgv(argv) {
  /** @type {{ n: number[], json: string | null }} */
  const out = { n: DEFAULT_N, json: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--n') out.n = intList(argv[++i] ?? '');
    else if (a === '--json') out.json = argv[++i] ?? null;
    else if (a.startsWith('--n=')) out.n = intList(a.slice(4));
    else throw new Error(`w1-webgpu: unknown argument '${a}' (--n 256,512 --json FILE)`);
  }
  return out;
}

/** @returns {import('../harness.mjs').Policy} */
function policyFromEnv() {
  try {
    return { ...DEFAULT_POLICY, ...JSON.parse(process.env.KILN_BENCH_POLICY ?? '{}') };
  } catch {
    return { ...DEFAULT_POLICY };
  }
}

/** Seeded standard normals (mulberry32 + Box-Muller): the same A and B for every system. */
function randomNormal(/** @type {number} */ count, /** @type {number} */ seed) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const th = 2 * Math.PI * uniform();
    out[i] = r * Math.cos(th);
    if (i + 1 < count) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

/** @param {unknown} e */
const message = (e) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/** @param {string} name */
async function versionOf(name) {
  try {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const { readFileSync } = await import('node:fs');
    const { join, dirname } = await import('node:path');
    let dir = dirname(require.resolve(name));
    for (let i = 0; i < 4; i++) {
      const p = join(dir, 'package.json');
      if (existsSync(p)) {
        const pkg = JSON.parse(readFileSync(p, 'utf8'));
        if (pkg.name === name) return /** @type {string} */ (pkg.version);
      }
      dir = dirname(dir);
    }
  } catch {}
  return null;
}

/**
 * navigator.gpu from the `webgpu` package, shared by the three systems (TF.js and jax-js look up
 * navigator.gpu; Kiln uses it too when present). jax-js also reads navigator.userAgent.
 * @returns {Promise<{ adapter: { vendor?: string, architecture?: string, device?: string, description?: string, isFallbackAdapter: boolean | null } | null, why: string | null }>}
 */
async function provideNavigatorGpu() {
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD))
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  /** @type {any} */
  let webgpu;
  try {
    webgpu = await import('webgpu');
  } catch (e) {
    return { adapter: null, why: `the npm package 'webgpu' (dawn.node) could not be loaded: ${message(e)}` };
  }
  Object.assign(globalThis, webgpu.globals);
  const gpu = webgpu.create([]);
  const g = /** @type {any} */ (globalThis);
  if (g.navigator === undefined) {
    g.navigator = {
      gpu,
      userAgent: `Node.js ${process.version}`,
      hardwareConcurrency: os.availableParallelism(),
    };
  } else {
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    const icd = process.env.VK_ICD_FILENAMES;
    return {
      adapter: null,
      why:
        'no adapter (requestAdapter() returned null' +
        (icd ? `; VK_ICD_FILENAMES=${icd}` : `; ${SWIFTSHADER_ICD} not found: apt-get install chromium`) +
        ')',
    };
  }
  const info = adapter.info ?? {};
  return {
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: adapter.isFallbackAdapter ?? info.isFallbackAdapter ?? null,
    },
    why: null,
  };
}

/** @returns {Promise<System>} */
async function kilnSystem() {
  const base = { id: 'kiln', label: 'Kiln', version: null };
  try {
    await import('@kiln/backend-webgpu');
    const k = await import('@kiln/core');
    await k.ready('webgpu');
    return {
      ...base,
      unavailable: null,
      async setup(host, n) {
        const a = k.tensor(host.subarray(0, n * n), { device: 'webgpu' }).reshape([n, n]);
        const b = k.tensor(host.subarray(n * n), { device: 'webgpu' }).reshape([n, n]);
        return {
          async once() {
            const c = k.matmul(a, b);
            const e = c.slice(0, 0, 1).slice(1, 0, 1);
            const v = (await e.data())[0];
            k.dispose([c, e]);
            return Number(v);
          },
          dispose: () => k.dispose([a, b]),
        };
      },
    };
  } catch (e) {
    return { ...base, unavailable: message(e), setup: unavailableSetup };
  }
}

/** @returns {Promise<System>} */
async function tfjsSystem() {
  const base = {
    id: 'tfjs',
    label: 'TF.js webgpu',
    version: await versionOf('@tensorflow/tfjs-backend-webgpu'),
  };
  try {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false");
    await tf.ready();
    return {
      ...base,
      unavailable: null,
      async setup(host, n) {
        const a = tf.tensor2d(host.subarray(0, n * n), [n, n]);
        const b = tf.tensor2d(host.subarray(n * n), [n, n]);
        return {
          async once() {
            const c = tf.matMul(a, b);
            const e = tf.slice(c, [0, 0], [1, 1]);
            const v = (await e.data())[0];
            tf.dispose([c, e]);
            return Number(v);
          },
          dispose: () => tf.dispose([a, b]),
        };
      },
    };
  } catch (e) {
    return { ...base, unavailable: message(e), setup: unavailableSetup };
  }
}

/** @returns {Promise<System>} */
async function jaxSystem() {
  const base = { id: 'jax', label: 'jax-js webgpu', version: await versionOf('@jax-js/jax') };
  try {
    const jax = await import('@jax-js/jax');
    const devices = await jax.init('webgpu');
    if (!devices.includes('webgpu')) throw new Error("jax.init('webgpu') found no WebGPU device");
    jax.defaultDevice('webgpu');
    const np = jax.numpy;
    return {
      ...base,
      unavailable: null,
      async setup(host, n) {
        // jax-js arrays are consumed by the ops they feed; `.ref` keeps A and B alive.
        const a = np.array(host.slice(0, n * n)).reshape([n, n]);
        const b = np.array(host.slice(n * n)).reshape([n, n]);
        await a.blockUntilReady();
        await b.blockUntilReady();
        return {
          async once() {
            const c = await np.matmul(a.ref, b.ref).blockUntilReady();
            const v = (await c.slice([0, 1], [0, 1]).data())[0];
            return Number(v);
          },
          dispose: () => {
            a.dispose();
            b.dispose();
          },
        };
      },
    };
  } catch (e) {
    return { ...base, unavailable: message(e), setup: unavailableSetup };
  }
}

/** @returns {Promise<never>} */
async function unavailableSetup() {
  throw new Error('unavailable');
}

/** @param {number} n @param {number} ms */
const gflops = (n, ms) => (2 * n ** 3) / (ms * 1e6);

/** @param {number} x */
function sig3(x) {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return Number(x.toPrecision(3)).toString();
}

async function main() {
  const args = parseArgv(process.argv.slice(2));
  const policy = policyFromEnv();
  const { adapter, why } = await provideNavigatorGpu();
  console.log(
    adapter
      ? `adapter: ${[adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' / ')}` +
          `${adapter.isFallbackAdapter ? ' (fallback adapter)' : ''}`
      : `W1-webgpu: SKIPPED - ${why}`,
  );
  /** @type {System[]} */
  const systems = adapter ? [await kilnSystem(), await tfjsSystem(), await jaxSystem()] : [];
  for (const s of systems) {
    console.log(
      `  ${s.label}${s.version ? ` ${s.version}` : ''}: ${s.unavailable ? `UNAVAILABLE - ${s.unavailable}` : 'ready'}`,
    );
  }
  const reference = randomNormal(2 * Math.max(...args.n) ** 2, 1);
  const cases = [];
  for (const n of adapter ? args.n : []) {
    // A = the first n^2 values, B = the next n^2: the same inputs on every system.
    const host = reference.subarray(0, 2 * n * n);
    let expected = 0;
    for (let i = 0; i < n; i++) expected += host[i] * host[n * n + i * n];
    /** @type {Record<string, SystemTiming>} */
    const timings = {};
    for (const s of systems) {
      if (s.unavailable) continue;
      /** @type {SystemTiming} */
      let t;
      try {
        const prepared = await s.setup(host, n);
        let element = Number.NaN;
        try {
          const m = await measure(async () => {
            element = await prepared.once();
          }, policy);
          t = { ...m, gflops: gflops(n, m.medianMs), element };
          if (Math.abs(element - expected) > 1e-3 * Math.sqrt(n) * 10)
            t = { error: `C[0,0] = ${element}, expected ${expected} (the product is wrong)` };
        } finally {
          prepared.dispose();
        }
      } catch (e) {
        t = { error: message(e) };
      }
      timings[s.id] = t;
      console.log(
        `  ${s.label.padEnd(14)} N=${String(n).padEnd(5)} ` +
          ('error' in t
            ? `error: ${t.error}`
            : `median ${sig3(t.medianMs)} ms (min ${sig3(t.minMs)}), ${t.warmups}+${t.reps} reps` +
              `${t.timeBoxed ? ' (time-boxed)' : ''}, ${sig3(t.gflops)} GFLOP/s`),
      );
    }
    cases.push({ n, timings, ratios: ratios(timings) });
  }
  if (cases.length) console.log(`\n${table(cases, systems)}`);

  const result = {
    id: 'W1-webgpu',
    unit: 'GFLOP/s',
    adapter,
    skipped: why,
    env: { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? null },
    policy,
    systems: systems.map((s) => ({
      id: s.id,
      label: s.label,
      version: s.version,
      unavailable: s.unavailable,
    })),
    cases,
  };
  if (args.json) writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
}

/** @param {Record<string, SystemTiming>} t */
function ratios(t) {
  const k = t.kiln;
  /** @type {Record<string, { medians: number, mins: number } | null>} */
  const out = {};
  for (const peer of ['tfjs', 'jax']) {
    const p = t[peer];
    out[peer] =
      k && p && !('error' in k) && !('error' in p)
        ? { medians: p.medianMs / k.medianMs, mins: p.minMs / k.minMs }
        : null;
  }
  return out;
}

/**
 * @param {{ n: number, timings: Record<string, SystemTiming>, ratios: ReturnType<typeof ratios> }[]} cases
 * @param {System[]} systems
 */
function table(cases, systems) {
  const cell = (/** @type {SystemTiming | undefined} */ t) =>
    t === undefined ? 'n/a' : 'error' in t ? 'error' : `${sig3(t.gflops)} (${sig3(t.medianMs)} ms)`;
  const ratio = (/** @type {{ medians: number, mins: number } | null} */ r) =>
    r ? `${sig3(r.medians)}x (${sig3(r.mins)}x)` : '-';
  const label = (/** @type {string} */ id) => systems.find((s) => s.id === id)?.label ?? id;
  const header = ['N', label('kiln'), label('tfjs'), label('jax'), 'Kiln/TF.js (mins)', 'Kiln/jax-js (mins)'];
  const body = cases.map((c) => [
    String(c.n),
    cell(c.timings.kiln),
    cell(c.timings.tfjs),
    cell(c.timings.jax),
    ratio(c.ratios.tfjs),
    ratio(c.ratios.jax),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (/** @type {string[]} */ r) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    'W1-webgpu  matmul [N,N] x [N,N] fp32 incl. a 1-element readback: GFLOP/s at the median (median ms)',
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    'ratios: peer median / Kiln median (> 1: Kiln faster); in brackets the same from the mins.',
  ].join('\n');
}

main()
  .then(() => process.exit(0)) // live WebGPU devices (three of them) would keep Node running
  .catch((e) => {
    console.error(`w1-webgpu: ${e instanceof Error ? e.stack : String(e)}`);
    process.exit(1);
  });
