// The machine's limits, measured in the same run as the workloads so "% of peak" compares figures
// taken under the same load: peers/fma_peak.c (fp32 FMA peak) and peers/membw.c (bandwidth, and
// W2 as one fused C loop), compiled here with the machine's C compiler.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR, PEERS_DIR } from './paths.mjs';

// The flags each source's header gives.
const PROBES = {
  fma_peak: ['-O3', '-mavx2', '-mfma', '-fopenmp'],
  membw: ['-O3', '-march=native', '-ffast-math', '-fopenmp'],
};

/**
 * @typedef {import('./workload').Limits & { raw: Record<string, string> }} MeasuredLimits
 * @typedef {{ limits: MeasuredLimits | null, skipped?: string }} LimitsResult
 */

/**
 * Compiles and runs both probes. Returns `limits: null` and a reason when that is not possible.
 * @returns {LimitsResult}
 */
export function measureLimits() {
  const cc = process.env.CC || 'gcc';
  if (spawnSync(cc, ['--version']).status !== 0) {
    return { limits: null, skipped: `no C compiler ('${cc}' not found; set CC) - limits not measured` };
  }
  const binDir = join(CACHE_DIR, 'bin');
  mkdirSync(binDir, { recursive: true });
  /** @type {Record<string, string>} */
  const raw = {};
  for (const [name, flags] of Object.entries(PROBES)) {
    const exe = join(binDir, name);
    const build = spawnSync(cc, [...flags, join(PEERS_DIR, `${name}.c`), '-o', exe], { encoding: 'utf8' });
    if (build.status !== 0) {
      return { limits: null, skipped: `${cc} could not build ${name}.c: ${lastLine(build.stderr)}` };
    }
    const run = spawnSync(exe, [], { encoding: 'utf8', timeout: 120_000 });
    if (run.status !== 0) return { limits: null, skipped: `${name} failed: ${lastLine(run.stderr)}` };
    raw[name] = run.stdout;
  }
  return { limits: { ...parseFmaPeak(raw.fma_peak), ...parseMembw(raw.membw), raw } };
}

/**
 * fma_peak prints one line per thread count, each the best of many trials. The peak is the best
 * per-thread rate times the core count: on a busy machine the all-cores trials lose turns to other
 * processes, while the one-core trials still find the rate each core is capable of.
 * @param {string} out
 */
export function parseFmaPeak(out) {
  const clock = /core clock.*?:\s*([\d.]+) GHz/.exec(out);
  const lines = [...out.matchAll(/threads=(\d+)\s+fp32 FMA 256-bit:\s*([\d.]+) GFLOP\/s/g)].map((m) => ({
    threads: Number(m[1]),
    gflops: Number(m[2]),
  }));
  if (!clock || !lines.length) throw new Error(`fma_peak: unexpected output:\n${out}`);
  const cores = Math.max(...lines.map((l) => l.threads));
  const fp32PerCoreGflops = Math.max(...lines.map((l) => l.gflops / l.threads));
  return {
    clockGhz: Number(clock[1]),
    cores,
    fp32PerCoreGflops,
    fp32AllCoresGflops: lines.find((l) => l.threads === cores)?.gflops ?? 0,
    fp32PeakGflops: fp32PerCoreGflops * cores,
  };
}

/**
 * membw prints "<name>  best X GB/s (Y ms)  median ..." lines for 1 and 2 threads. The BEST trial
 * is the hardware rate on a shared machine (preemption only slows a trial down), and again the
 * best over thread counts is taken.
 * @param {string} out
 */
export function parseMembw(out) {
  /** @type {{ name: string, gbs: number, ms: number }[]} */
  const lines = [];
  for (const m of out.matchAll(/^(.*?)\s+best\s+([\d.]+) GB\/s \(([\d.]+) ms\)/gm)) {
    lines.push({ name: m[1].trim(), gbs: Number(m[2]), ms: Number(m[3]) });
  }
  const best = (/** @type {RegExp} */ re) => {
    const hits = lines.filter((l) => re.test(l.name));
    if (!hits.length) throw new Error(`membw: no line matching ${re} in:\n${out}`);
    return hits.reduce((a, b) => (b.gbs > a.gbs ? b : a));
  };
  return {
    readBandwidthGBs: best(/^read-only sum /).gbs,
    w2FusedCMs: best(/^W2 fused C kernel, 2\^22 floats, same buffer, /).ms,
  };
}

/**
 * The better of two measurements of the same limits (a probe at the start of a run and one at the
 * end): other load only ever lowers a figure, so the best of the two is the closer to the hardware.
 * @param {MeasuredLimits | null} a
 * @param {MeasuredLimits | null} b
 * @returns {MeasuredLimits | null}
 */
export function bestLimits(a, b) {
  if (!a || !b) return a ?? b;
  const peak = b.fp32PeakGflops > a.fp32PeakGflops ? b : a;
  return {
    fp32PeakGflops: peak.fp32PeakGflops,
    fp32PerCoreGflops: peak.fp32PerCoreGflops,
    fp32AllCoresGflops: Math.max(a.fp32AllCoresGflops, b.fp32AllCoresGflops),
    cores: peak.cores,
    clockGhz: peak.clockGhz,
    readBandwidthGBs: Math.max(a.readBandwidthGBs, b.readBandwidthGBs),
    w2FusedCMs: Math.min(a.w2FusedCMs, b.w2FusedCMs),
    raw: Object.fromEntries(
      Object.keys(a.raw).map((name) => [
        name,
        `${a.raw[name]}\n--- again at the end of the run ---\n${b.raw[name]}`,
      ]),
    ),
  };
}

/** @param {string | null | undefined} text */
function lastLine(text) {
  return (text ?? '').trim().split('\n').pop() || '(no output)';
}
