#!/usr/bin/env node
// Native vs TypeScript kernels vs PyTorch, in one run: W1 (matmul N = 256..2048), W2
// (relu(x*2+1).sum() over 2^22 floats) and every other Kiln workload that bench/'s registry
// (bench/src/workloads/) holds (W3 MLP train step, W4 conv2d, ...), with this machine's fp32 peak
// and read bandwidth measured in the same run. Runs on the BUILT package (dist/ and build/Release/kiln_cpu.node): two child
// processes, one with KILN_CPU_NATIVE=1 and one with KILN_CPU_NATIVE=0, and PyTorch (bench/'s
// peers/torch_bench.py with Debian's OpenBLAS, when present) time each case back to back, so all
// three columns see the same machine load. Medians of the timed repetitions; ratios from one run.
//
//   node bench/native-vs-ts.mjs [--workloads W1,W2,W3,W4] [--n 256,512,1024,2048] [--rounds 3]
//                               [--no-torch] [--no-limits] [--json out.json]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const repo = join(pkg, '..', '..');

const POLICY = { warmups: 2, minReps: 5, maxReps: 50, targetSeconds: 1, maxCaseSeconds: 40 };
const REGISTRY = join(repo, 'bench', 'src', 'workloads', 'index.mjs');

/** The Kiln workloads of bench/'s registry by id (kind 'kiln'), or none when it is absent. */
async function registryWorkloads() {
  if (!existsSync(REGISTRY)) return new Map();
  try {
    const { WORKLOADS } = await import(REGISTRY);
    return new Map(WORKLOADS.filter((w) => w.kind === 'kiln').map((w) => [w.id, w]));
  } catch (e) {
    console.error(`bench: ${REGISTRY} did not load (${e.message}); W1 and W2 only`);
    return new Map();
  }
}

// ---------------------------------------------------------------- child: one Kiln path
if (process.argv[2] === '--child') {
  await import(join(pkg, 'dist', 'index.js'));
  const k = await import('@kiln/core');
  const now = () => Number(process.hrtime.bigint()) / 1e6;
  const registry = await registryWorkloads();
  const builtIn = {
    W1: ({ n }) => {
      k.manualSeed(0);
      const a = k.randn([n, n]);
      const b = k.randn([n, n]);
      return { step: () => k.matmul(a, b).slice(0, 0, 1).slice(1, 0, 1), dispose: () => k.dispose([a, b]) };
    },
    W2: ({ numel }) => {
      k.manualSeed(0);
      const x = k.randn([numel]);
      return { step: () => x.mul(2).add(1).relu().sum(), dispose: () => x.dispose() };
    },
  };
  const setupOf = (id, params) => (registry.has(id) ? registry.get(id).setup(params) : builtIn[id](params));
  // A repetition ends by reading back what the step returns (one tensor or several), as bench/ does.
  const once = (step) => {
    const t0 = now();
    k.tidy(() => {
      const r = step();
      for (const t of Array.isArray(r) ? r : [r]) t.dataSync();
    });
    return now() - t0;
  };
  const lines = createInterface({ input: process.stdin });
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  for await (const line of lines) {
    const c = JSON.parse(line);
    const { step, dispose } = setupOf(c.workload, c.params);
    // The bench harness's protocol: warm-ups, then >= minReps until targetSeconds, boxed per case.
    const start = now();
    const budget = POLICY.maxCaseSeconds * 1000;
    let last = 0;
    let warmups = 0;
    let boxed = false;
    while (warmups < POLICY.warmups) {
      last = once(step);
      warmups++;
      if (last * (1 + POLICY.minReps) > budget - (now() - start)) {
        boxed = true;
        break;
      }
    }
    let want = POLICY.minReps;
    if (last * want > budget - (now() - start)) {
      want = Math.max(1, Math.floor((budget - (now() - start)) / Math.max(last, 1e-6)));
      boxed = true;
    }
    const samples = [];
    let timed = 0;
    while (samples.length < POLICY.maxReps) {
      const s = once(step);
      samples.push(s);
      timed += s;
      if (samples.length < want) continue;
      if (boxed || timed >= POLICY.targetSeconds * 1000 || now() - start + s > budget) break;
    }
    dispose();
    const sorted = [...samples].sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    process.stdout.write(
      `${JSON.stringify({ medianMs: median, minMs: sorted[0], reps: samples.length, warmups, timeBoxed: boxed, samplesMs: samples })}\n`,
    );
  }
  process.exit(0);
}

// ---------------------------------------------------------------- parent
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
};
const sizes = option('--n', '256,512,1024,2048').split(',').map(Number);
const threads = cpus().length;

if (!existsSync(join(pkg, 'dist', 'index.js'))) {
  console.error('bench: dist/ is missing: run `pnpm --filter @kiln/backend-cpu build` first');
  process.exit(1);
}
if (!existsSync(join(pkg, 'build', 'Release', 'kiln_cpu.node'))) {
  console.error('bench: build/Release/kiln_cpu.node is missing: run `pnpm --filter @kiln/backend-cpu build:native` first');
  process.exit(1);
}

/** A long-lived line-protocol child: send a JSON case, read one JSON line back. */
function session(command, args, env, onFirstLine) {
  const proc = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr += d;
  });
  // Lines that arrive before anyone waits are queued, not dropped.
  const waiting = [];
  const queued = [];
  let closed = false;
  const rl = createInterface({ input: proc.stdout });
  rl.on('line', (l) => {
    const w = waiting.shift();
    if (w) w(l);
    else queued.push(l);
  });
  rl.on('close', () => {
    closed = true;
    for (const w of waiting.splice(0)) w(null);
  });
  const next = async () => {
    const line = queued.length > 0 ? queued.shift() : closed ? null : await new Promise((r) => waiting.push(r));
    if (line === null) throw new Error(`${args.join(' ')} stopped: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return JSON.parse(line);
  };
  if (onFirstLine) proc.stdin.write(`${onFirstLine}\n`);
  return {
    next,
    run: (c) => {
      const r = next();
      proc.stdin.write(`${JSON.stringify(c)}\n`);
      return r;
    },
    close: () => proc.stdin.end(),
  };
}

function measureLimits() {
  if (flag('--no-limits')) return null;
  const cache = join(here, '.cache');
  mkdirSync(cache, { recursive: true });
  const probes = {};
  for (const [name, flags] of [
    ['fma_peak', ['-O3', '-mavx2', '-mfma', '-fopenmp']],
    ['membw', ['-O3', '-march=native', '-ffast-math', '-fopenmp']],
  ]) {
    const src = join(repo, 'bench', 'peers', `${name}.c`);
    const bin = join(cache, name);
    if (!existsSync(bin)) {
      const cc = spawnSync('gcc', [...flags, src, '-o', bin], { encoding: 'utf8' });
      if (cc.status !== 0) return null;
    }
    probes[name] = spawnSync(bin, [], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } }).stdout;
  }
  let peak = 0;
  for (const m of probes.fma_peak.matchAll(/threads=(\d+)\s+fp32 FMA 256-bit:\s*([\d.]+) GFLOP\/s/g)) {
    if (Number(m[1]) === threads) peak = Number(m[2]);
  }
  const read = probes.membw.match(new RegExp(`read-only sum 256 MiB, ${threads} thr\\s+best\\s+([\\d.]+) GB/s`));
  const fused = probes.membw.match(new RegExp(`W2 fused C kernel, 2\\^22 floats, same buffer, ${threads} thr\\s+best\\s+[\\d.]+ GB/s \\(([\\d.]+) ms\\)`));
  return { peakGflops: peak, readGBs: read ? Number(read[1]) : null, w2FusedMs: fused ? Number(fused[1]) : null };
}

function findOpenblas() {
  for (const root of [join(repo, 'bench', '.cache', 'openblas'), '/tmp/openblas']) {
    const lib = join(root, 'usr', 'lib');
    if (!existsSync(lib)) continue;
    for (const arch of readdirSync(lib)) {
      const dir = join(lib, arch, 'openblas-openmp');
      if (existsSync(join(dir, 'libblas.so.3'))) return dir;
    }
  }
  return null;
}

async function startTorch() {
  if (flag('--no-torch')) return { torch: null, why: '--no-torch' };
  const script = join(repo, 'bench', 'peers', 'torch_bench.py');
  const python = process.env.KILN_BENCH_PYTHON || '/usr/bin/python3';
  if (!existsSync(script) || !existsSync(python)) return { torch: null, why: `${script} or ${python} missing` };
  const blas = findOpenblas();
  const env = { OMP_NUM_THREADS: String(threads) };
  if (blas) env.LD_LIBRARY_PATH = [blas, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  const s = session(python, [script], env, JSON.stringify({ policy: POLICY, threads }));
  try {
    const info = await s.next();
    const label = info.blas.name === 'openblas' ? `PyTorch ${info.torch}+OpenBLAS` : 'PyTorch (reference BLAS: not a fair peer)';
    return { torch: s, label };
  } catch (e) {
    return { torch: null, why: e.message };
  }
}

const registry = await registryWorkloads();
const wanted = option('--workloads', ['W1', 'W2', ...[...registry.keys()].filter((id) => id !== 'W1' && id !== 'W2')].join(','))
  .split(',')
  .filter(Boolean);
const cases = [];
for (const id of wanted) {
  if (id === 'W1') {
    cases.push(...sizes.map((n) => ({ workload: 'W1', label: `N=${n}`, params: { n }, flop: 2 * n ** 3 })));
  } else if (id === 'W2') {
    cases.push({ workload: 'W2', label: '2^22', params: { numel: 1 << 22 }, bytes: 4 * (1 << 22) });
  } else if (registry.has(id)) {
    const w = registry.get(id);
    const defaults = Object.fromEntries(Object.entries(w.options ?? {}).map(([name, o]) => [name, o.default]));
    for (const c of w.cases(defaults)) {
      cases.push({ workload: id, label: c.label, params: c.params, figure: w.figure });
    }
  } else {
    console.error(`bench: no workload ${id} (bench/src/workloads has ${[...registry.keys()].join(', ') || 'none'})`);
  }
}

console.log(`@kiln/backend-cpu bench: native vs TypeScript vs PyTorch, ${threads} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const limits = measureLimits();
if (limits) {
  console.log(
    `limits (best of many short trials, this run): fp32 peak ${limits.peakGflops} GFLOP/s; read bandwidth ${limits.readGBs} GB/s; W2 as one fused C loop ${limits.w2FusedMs} ms`,
  );
} else {
  console.log('limits: not measured (no gcc, or --no-limits)');
}
const child = (mode) =>
  session(process.execPath, [fileURLToPath(import.meta.url), '--child'], { KILN_CPU_NATIVE: mode });
const nativeRun = child('1');
const tsRun = child('0');
await nativeRun.next();
await tsRun.next();
const { torch, label: torchLabel, why } = await startTorch();
console.log(torch ? `peer: ${torchLabel}` : `PyTorch: SKIPPED (${why})`);

// Native and PyTorch alternate case by case for --rounds rounds (the machine's load changes from
// second to second), and each side's figure is the median of all its samples; the TypeScript
// kernels, far slower, run one round.
const rounds = Number(option('--rounds', '3'));
function merge(results) {
  const ok = results.filter((r) => r && r.medianMs !== undefined);
  if (ok.length === 0) return results.find(Boolean) ?? null;
  const samples = ok.flatMap((r) => r.samplesMs ?? [r.medianMs]).sort((x, y) => x - y);
  const mid = samples.length >> 1;
  const medianMs = samples.length % 2 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2;
  return { medianMs, minMs: samples[0], reps: samples.length, timeBoxed: ok.some((r) => r.timeBoxed) };
}
const fmt = (ms, r) => (ms === undefined ? 'n/a' : `${ms.toFixed(ms < 10 ? 3 : 1)}${r?.timeBoxed ? '*' : ''}`);
const rows = [];
for (const c of cases) {
  const msg = { workload: c.workload, label: c.label, params: c.params };
  const natRounds = [];
  const ptRounds = [];
  let ts = null;
  // A pause before each side: the previous one's threads (OpenMP's spin-wait above all) must not
  // take cores from the next.
  const settle = () => new Promise((r) => setTimeout(r, 300));
  for (let r = 0; r < rounds; r++) {
    await settle();
    natRounds.push(await nativeRun.run(msg));
    if (r === 0) {
      await settle();
      ts = await tsRun.run(msg);
    }
    if (torch) {
      await settle();
      ptRounds.push(await torch.run(msg));
    }
  }
  const nat = merge(natRounds);
  const pt = torch ? merge(ptRounds) : null;
  const fig = (r) => {
    if (r?.medianMs === undefined) return undefined;
    if (c.flop) return c.flop / (r.medianMs * 1e6);
    if (c.bytes) return c.bytes / (r.medianMs * 1e6);
    return c.figure.fromMs(r.medianMs, c.params);
  };
  rows.push({ c, nat, ts, pt, fNat: fig(nat), fTs: fig(ts), fPt: fig(pt) });
}
nativeRun.close();
tsRun.close();
torch?.close();

const unit = (c) => (c.flop ? 'GFLOP/s' : c.bytes ? 'GB/s' : c.figure.unit);
const header = ['case', 'native ms', 'TS ms', 'PyTorch ms', 'native', 'TS', 'PyTorch', 'unit', 'native/TS', 'native/PyTorch', '% limit native (PyTorch)'];
const table = rows.map(({ c, nat, ts, pt, fNat, fTs, fPt }) => {
  const limit = c.flop ? limits?.peakGflops : c.bytes ? limits?.readGBs : undefined;
  const pct = (f) => (limit && f ? `${((100 * f) / limit).toFixed(0)}%` : 'n/a');
  return [
    `${c.workload} ${c.label}`,
    fmt(nat.medianMs, nat),
    fmt(ts.medianMs, ts),
    pt?.medianMs !== undefined ? fmt(pt.medianMs, pt) : pt?.error ? 'error' : 'n/a',
    fNat?.toFixed(1) ?? 'n/a',
    fTs?.toFixed(2) ?? 'n/a',
    fPt?.toFixed(1) ?? 'n/a',
    unit(c),
    ts.medianMs ? `${(ts.medianMs / nat.medianMs).toFixed(1)}x` : 'n/a',
    pt?.medianMs ? `${(pt.medianMs / nat.medianMs).toFixed(2)}` : 'n/a',
    limit ? `${pct(fNat)} (${pct(fPt)})` : '',
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
const line = (r) => r.map((v, i) => v.padStart(widths[i])).join('  ');
console.log(line(header));
for (const r of table) console.log(line(r));
console.log(
  `medians of all timed reps (each round: 2 warm-ups, >= 5 reps, ~1 s); native and PyTorch alternate over ${rounds} rounds, TS runs one (* = time-boxed to 40 s: fewer reps); native/TS and native/PyTorch are speed ratios (>1: native faster); W1 limit = fp32 FMA peak, W2 limit = DRAM read bandwidth over its 16 MiB.`,
);
const out = option('--json', null);
if (out) writeFileSync(out, JSON.stringify({ limits, rows, torch: torchLabel ?? null }, null, 2));
