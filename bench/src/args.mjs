// Command line: `node src/cli.mjs [W1 W2 ...] [--n 256,512] [--markdown] ...`.
import { DEFAULT_POLICY } from './harness.mjs';
import { nonNegativeNumber, positiveNumber } from './options.mjs';

/** Flags that take no value. */
const SWITCHES = {
  markdown: 'also print the tables as Markdown (and write results/latest.md)',
  'no-peers': 'do not run PyTorch',
  'no-limits': 'do not measure the fp32 peak and memory bandwidth',
  'no-build': "do not build an external workload's package before running its script",
  list: 'list the workloads and their options, then exit',
  help: 'print this help, then exit',
};

/**
 * Timing policy overrides, as flag -> [policy key, parser].
 * @type {Record<string, [keyof import('./harness.mjs').Policy, (text: string) => number]>}
 */
const POLICY_FLAGS = {
  warmups: ['warmups', (s) => Math.round(positiveNumber(s))],
  'warmup-s': ['warmupSeconds', nonNegativeNumber],
  'min-reps': ['minReps', (s) => Math.round(positiveNumber(s))],
  'max-reps': ['maxReps', (s) => Math.round(positiveNumber(s))],
  'target-s': ['targetSeconds', positiveNumber],
  'max-case-s': ['maxCaseSeconds', positiveNumber],
};

/**
 * @typedef {object} ParsedArgs
 * @property {import('./workload').Workload[]} selected
 * @property {Map<import('./workload').Workload, Record<string, unknown>>} options per workload (Kiln, or external with options)
 * @property {Set<string>} switches
 * @property {import('./harness.mjs').Policy} policy   the defaults with the flags given applied
 * @property {Partial<import('./harness.mjs').Policy>} policyFlags  the policy flags given, alone
 * @property {string[]} kilnPaths  the Kiln CPU paths to time: native, ts
 * @property {boolean} kilnFlag  whether --kiln chose them (over a workload's own kilnPaths)
 */

/**
 * @param {string[]} argv
 * @param {import('./workload').Workload[]} registry
 * @returns {ParsedArgs}
 */
export function parseArgs(argv, registry) {
  /** @type {string[]} */
  const ids = [];
  /** @type {Set<string>} */
  const switches = new Set();
  /** @type {import('./harness.mjs').Policy} */
  const policy = { ...DEFAULT_POLICY };
  /** @type {Partial<import('./harness.mjs').Policy>} */
  const policyFlags = {};
  /** @type {Map<string, string>} */
  const given = new Map();

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') continue; // pnpm forwards the separator
    if (!arg.startsWith('--')) {
      ids.push(arg.toUpperCase());
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (name in SWITCHES) {
      switches.add(name);
      continue;
    }
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new Error(`--${name} needs a value`);
    given.set(name, value);
  }

  const unknownIds = ids.filter((id) => !registry.some((w) => w.id.toUpperCase() === id));
  if (unknownIds.length) {
    throw new Error(
      `unknown workload ${unknownIds.join(', ')}; known: ${registry.map((w) => w.id).join(', ')}`,
    );
  }
  const selected = ids.length ? registry.filter((w) => ids.includes(w.id.toUpperCase())) : registry;

  for (const [name, value] of given) {
    if (name in POLICY_FLAGS) {
      const [key, parse] = POLICY_FLAGS[name];
      policy[key] = parse(value);
      policyFlags[key] = policy[key];
      given.delete(name);
    }
  }

  const kilnFlag = given.has('kiln');
  const kilnPaths = (given.get('kiln') ?? 'native,ts').split(',').map((s) => s.trim().toLowerCase());
  const badPath = kilnPaths.find((p) => p !== 'native' && p !== 'ts');
  if (badPath !== undefined) throw new Error(`--kiln: unknown path '${badPath}' (native, ts)`);
  given.delete('kiln');

  const options = new Map();
  for (const w of selected) {
    /** @type {Record<string, unknown>} */
    const values = {};
    for (const [name, spec] of Object.entries(w.options ?? {})) {
      const text = given.get(name);
      try {
        values[name] = text === undefined ? spec.default : spec.parse(text);
      } catch (e) {
        throw new Error(`--${name}: ${/** @type {Error} */ (e).message}`);
      }
    }
    options.set(w, values);
  }
  for (const name of given.keys()) {
    const owners = registry.filter((w) => name in (w.options ?? {})).map((w) => w.id);
    if (!owners.length) throw new Error(`unknown option --${name} (see --help)`);
    if (!selected.some((w) => owners.includes(w.id))) {
      throw new Error(`--${name} is an option of ${owners.join(', ')}, which this run does not include`);
    }
  }
  return { selected, options, switches, policy, policyFlags, kilnPaths, kilnFlag };
}

/**
 * The timing policy of one workload: the defaults, then the workload's own, then the flags given.
 * @param {import('./workload').Workload} w
 * @param {ParsedArgs} args
 * @returns {import('./harness.mjs').Policy}
 */
export function policyFor(w, args) {
  if (w.kind !== 'kiln' || !w.policy) return args.policy;
  return { ...DEFAULT_POLICY, ...w.policy, ...args.policyFlags };
}

/**
 * The Kiln paths to time for one workload: --kiln when given, else the workload's own default,
 * else every path.
 * @param {import('./workload').Workload} w
 * @param {ParsedArgs} args
 * @returns {string[]}
 */
export function kilnPathsFor(w, args) {
  if (args.kilnFlag || w.kind !== 'kiln' || !w.kilnPaths) return args.kilnPaths;
  return w.kilnPaths;
}

/** @param {import('./workload').Workload[]} registry */
export function usage(registry) {
  const lines = [
    'usage: pnpm bench [-- [WORKLOAD ...] [options]]      (all workloads when none is named)',
    '',
    'options:',
    ...Object.entries(SWITCHES).map(([k, v]) => `  --${k.padEnd(14)} ${v}`),
    `  --${'kiln P,Q'.padEnd(14)} Kiln CPU paths to time: native (the addon), ts (TypeScript kernels); default native,ts`,
    ...Object.entries(POLICY_FLAGS).map(
      ([k, [key]]) => `  --${`${k} X`.padEnd(14)} timing policy: ${key} (default ${DEFAULT_POLICY[key]})`,
    ),
    '',
    listing(registry),
  ];
  return lines.join('\n');
}

/** @param {import('./workload').Workload[]} registry */
export function listing(registry) {
  const lines = ['workloads:'];
  for (const w of registry) {
    lines.push(`  ${w.id.padEnd(4)} ${w.title}${w.kind === 'external' ? `   (runs ${w.script})` : ''}`);
    if (w.kind === 'kiln' && w.policy) {
      const own = Object.entries(w.policy).map(([key, value]) => `${key} ${value}`);
      lines.push(`         timing policy defaults: ${own.join(', ')} (flags still override)`);
    }
    if (w.kind === 'kiln' && w.kilnPaths)
      lines.push(`         Kiln paths by default: ${w.kilnPaths.join(', ')} (--kiln overrides)`);
    for (const [name, spec] of Object.entries(w.options ?? {})) {
      lines.push(`         --${name} X   ${spec.description} (default ${String(spec.default)})`);
    }
  }
  return lines.join('\n');
}
