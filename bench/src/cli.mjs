// `pnpm bench`: measures the machine's limits, runs the selected workloads on Kiln (the built
// packages) and on PyTorch, prints a table per workload and writes results/latest.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { kilnPathsFor, listing, parseArgs, policyFor, usage } from './args.mjs';
import { runExternal } from './external.mjs';
import { kilnVariants } from './kiln-variants.mjs';
import { bestLimits, measureLimits } from './limits.mjs';
import { REPO_ROOT, RESULTS_DIR } from './paths.mjs';
import { findTorch, TorchSession } from './peers/torch.mjs';
import { FOOTNOTE, markdownTable, sig3, textTable } from './report.mjs';
import { summarize, timeWorkload } from './run-workload.mjs';
import { WORKLOADS } from './workloads/index.mjs';

/** @param {string[]} args */
function git(...args) {
  try {
    return execFileSync('git', args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

const loadAverage = () => os.loadavg().map((x) => Number(x.toFixed(2)));

function environment() {
  return {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    commit: git('rev-parse', '--short', 'HEAD'),
    uncommittedChanges: (git('status', '--porcelain') ?? '') !== '',
    loadAverageAtStart: loadAverage(),
  };
}

/** @param {ReturnType<typeof environment>} env @param {import('./harness.mjs').Policy} policy */
function printHeader(env, policy) {
  console.log(
    `Kiln bench  ${env.date}  ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB, Node ${env.node}`,
  );
  console.log(`commit ${env.commit}${env.uncommittedChanges ? ' + uncommitted changes' : ''}`);
  const busy = env.loadAverageAtStart[0] > env.cores / 2;
  console.log(
    `load average ${env.loadAverageAtStart.join(' ')}` +
      (busy ? ` - BUSY: other work competes for the ${env.cores} cores; expect noisy figures` : ''),
  );
  console.log(`policy: ${describePolicy(policy)}; figures at the median`);
}

/** @param {import('./harness.mjs').Policy} policy */
function describePolicy(policy) {
  return (
    `${policy.warmups} warm-ups (more until ${policy.warmupSeconds} s of them), >= ${policy.minReps} timed reps (more until ${policy.targetSeconds} s timed, ` +
    `at most ${policy.maxReps}), ${policy.maxCaseSeconds} s box per case`
  );
}

/**
 * Runs the limit probes (at the start of a run, and again at the end: see bestLimits).
 * @param {boolean} wanted
 * @param {string} when
 * @returns {import('./limits.mjs').LimitsResult}
 */
function probeLimits(wanted, when) {
  if (!wanted) return { limits: null, skipped: 'not requested (--no-limits)' };
  console.log(`\nmeasuring limits ${when} (peers/fma_peak.c, peers/membw.c) ...`);
  const result = measureLimits();
  if (result.limits) console.log(`limits: ${describeLimits(result.limits)}`);
  else console.log(`limits: skipped - ${result.skipped}`);
  return result;
}

/** @param {import('./workload').Limits} l */
function describeLimits(l) {
  return (
    `fp32 peak ${sig3(l.fp32PeakGflops)} GFLOP/s (${l.cores} cores x ${sig3(l.fp32PerCoreGflops)}, 256-bit FMA, ` +
    `clock ${l.clockGhz} GHz; all cores at once: ${sig3(l.fp32AllCoresGflops)}); ` +
    `DRAM read ${sig3(l.readBandwidthGBs)} GB/s; W2 as one fused C loop ${l.w2FusedCMs} ms`
  );
}

/**
 * @param {boolean} wanted
 * @returns {Promise<{ session: TorchSession | null, record: object }>}
 */
async function torchOfThisRun(wanted) {
  const found = wanted
    ? findTorch(os.availableParallelism())
    : { peer: null, skipped: 'not requested (--no-peers)' };
  if (!found.peer) {
    console.log(`PyTorch: SKIPPED - ${found.skipped}`);
    return { session: null, record: { skipped: found.skipped } };
  }
  const session = new TorchSession(found.peer);
  try {
    const info = await session.start();
    const blas =
      info.blas.name === 'openblas'
        ? `OpenBLAS (OpenMP build) ${info.blas.path}`
        : `NOT OpenBLAS but ${info.blas.name} BLAS ${info.blas.path}: run bench/setup-peers.sh; ` +
          'the column is labelled "not a fair peer"';
    console.log(
      `PyTorch ${info.torch} (${found.peer.python}, Python ${info.python}), ${info.threads} threads, ${blas}`,
    );
    return { session, record: { ...found.peer, ...info } };
  } catch (e) {
    session.close();
    const why = `${e instanceof Error ? e.message : String(e)} (run bench/setup-peers.sh)`;
    console.log(`PyTorch: SKIPPED - ${why}`);
    return { session: null, record: { skipped: why } };
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2), WORKLOADS);
  if (args.switches.has('help')) return console.log(usage(WORKLOADS));
  if (args.switches.has('list')) return console.log(listing(WORKLOADS));
  const { policy } = args;

  const env = environment();
  printHeader(env, policy);
  const wantLimits = !args.switches.has('no-limits');
  const limitsAtStart = probeLimits(wantLimits, 'at the start');
  const torch = await torchOfThisRun(!args.switches.has('no-peers'));
  const variants = kilnVariants().filter((v) => args.kilnPaths.includes(v.id));
  for (const v of variants) {
    console.log(`Kiln ${v.label}: ${v.description}${v.unavailable ? ` - SKIPPED: ${v.unavailable}` : ''}`);
  }
  const usable = variants.filter((v) => v.unavailable === null);

  /** @type {(import('./run-workload.mjs').TimedWorkload | object)[]} */
  const done = [];
  try {
    for (const w of args.selected) {
      console.log(`\n== ${w.id}  ${w.title}`);
      if (w.kind === 'external') {
        const r = runExternal(w, policy, { build: !args.switches.has('no-build') }, args.options.get(w));
        console.log(r.message);
        done.push({ id: w.id, title: w.title, kind: w.kind, ...r });
        continue;
      }
      const own = policyFor(w, args);
      if (own !== policy) console.log(`  policy of ${w.id}: ${describePolicy(own)}`);
      const paths = kilnPathsFor(w, args);
      const left = usable.filter((v) => !paths.includes(v.id)).map((v) => v.label);
      if (left.length)
        console.log(
          `  Kiln ${left.join(', ')}: not timed for ${w.id} by default (--kiln ${args.kilnPaths.join(',')} times it)`,
        );
      const timed = usable.filter((v) => paths.includes(v.id));
      done.push(await timeWorkload(w, args.options.get(w) ?? {}, own, timed, torch.session));
    }
  } finally {
    torch.session?.close();
  }

  const limitsAtEnd = probeLimits(wantLimits && limitsAtStart.limits !== null, 'again at the end');
  const limits = bestLimits(limitsAtStart.limits, limitsAtEnd.limits);
  if (limits && limitsAtEnd.limits) {
    console.log(`limits of this run (the better of the two): ${describeLimits(limits)}`);
  }

  /** @type {import('./report.mjs').WorkloadTable[]} */
  const tables = [];
  const records = done.map((d) => {
    if (!('timings' in d)) return d;
    const { table, record } = summarize(d, limits);
    tables.push(table);
    return record;
  });
  if (tables.length) {
    console.log('\n== Results');
    for (const t of tables) console.log(`\n${textTable(t)}`);
    console.log(`\n${FOOTNOTE}`);
  }

  const loadAverageAtEnd = loadAverage();
  console.log(`\nload average at the end ${loadAverageAtEnd.join(' ')}`);
  const results = {
    environment: { ...env, loadAverageAtEnd },
    policy,
    limits: limits ?? { skipped: limitsAtStart.skipped },
    kiln: variants.map((v) => ({ path: v.id, description: v.description, unavailable: v.unavailable })),
    peers: { torch: torch.record },
    workloads: records,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log('wrote bench/results/latest.json');

  if (args.switches.has('markdown') && tables.length) {
    const md = [
      `Measured ${env.date.slice(0, 10)} on ${env.cpu} (${env.cores} cores), Node ${env.node}, ` +
        `commit ${env.commit}, load average ${env.loadAverageAtStart[0]} at the start; ` +
        'a shared, noisy machine: read the ratios, not the absolute figures.',
      '',
      ...tables.flatMap((t) => [markdownTable(t), '']),
      FOOTNOTE,
    ].join('\n');
    writeFileSync(join(RESULTS_DIR, 'latest.md'), `${md}\n`);
    console.log(`\n${md}\n\nwrote bench/results/latest.md`);
  }

  const failed = tables.flatMap((t) =>
    t.rows.filter((r) => 'error' in r.kiln).map((r) => `${t.id} ${r.label} ${r.path}`),
  );
  if (failed.length) {
    console.log(`\nKiln failed on: ${failed.join(', ')} (errors above)`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
