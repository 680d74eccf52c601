// Finds and loads the native addon (build/Release/kiln_cpu.node, built by `build:native`), in Node
// only: browsers and other runtimes get null without a word. KILN_CPU_NATIVE=0 forces the
// TypeScript kernels, KILN_CPU_NATIVE=1 makes a missing addon an error; otherwise a missing or
// broken addon is one console line and the TypeScript kernels serve.

/** What the addon exports (native/src/addon.cc). Every array is used in place, never copied. */
export interface NativeAddon {
  readonly info: {
    readonly gemmKernel: string;
    readonly threads: number;
    readonly unaryOps: readonly string[];
    readonly binaryOps: readonly string[];
    readonly reduceOps: readonly string[];
    readonly compareOps: readonly string[];
  };
  matmulF32(
    a: Float32Array,
    aOff: number,
    sab: number,
    sam: number,
    sak: number,
    b: Float32Array,
    bOff: number,
    sbb: number,
    sbk: number,
    sbn: number,
    out: Float32Array,
    oOff: number,
    sob: number,
    som: number,
    son: number,
    batch: number,
    m: number,
    k: number,
    n: number,
    /** out += a b instead of out = a b */
    accumulate?: boolean,
  ): void;
  unaryF32(op: number, x: Float32Array, out: Float32Array, layout: Float64Array): void;
  /** Runs a fused elementwise program (native/fusion.ts); with `out` null returns the sum instead. */
  evalProgramF32(
    program: Int32Array,
    inputs: readonly Float32Array[],
    offsets: Float64Array,
    scalar: Uint8Array,
    n: number,
    out: Float32Array | null,
  ): number;
  copyF32(src: Float32Array, dst: Float32Array, layout: Float64Array): void;
  binaryF32(op: number, a: Float32Array, b: Float32Array, out: Float32Array, layout: Float64Array): void;
  compareF32(op: number, a: Float32Array, b: Float32Array, out: Uint8Array, layout: Float64Array): void;
  whereF32(cond: Uint8Array, a: Float32Array, b: Float32Array, out: Float32Array, layout: Float64Array): void;
  reduceF32(
    op: number,
    x: Float32Array,
    out: Float32Array,
    layout: Float64Array,
    runLength: number,
    runStride: number,
  ): void;
  softmaxF32(mode: number, x: Float32Array, out: Float32Array, layout: Float64Array, n: number): void;
  /** meta: [rows, n, eps, offsets of x, weight, bias, out, mean, rstd] */
  layerNormF32(
    x: Float32Array,
    weight: Float32Array | null,
    bias: Float32Array | null,
    out: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    meta: Float64Array,
  ): void;
  /** meta: [rows, n, the eight operands' offsets in argument order] */
  layerNormBackwardF32(
    gradOut: Float32Array,
    x: Float32Array,
    weight: Float32Array | null,
    mean: Float32Array,
    rstd: Float32Array,
    gradIn: Float32Array | null,
    gradWeight: Float32Array | null,
    gradBias: Float32Array | null,
    meta: Float64Array,
  ): void;
  /**
   * meta: [B, H, L, S, E, Ev, scale, causal (0 | 1), mask offset, the mask's 4 strides, offsets of q,
   * k, v, out, lse]; the mask (bool bytes, read as [B, H, L, S] through its strides) may be null.
   */
  attentionF32(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Uint8Array | null,
    out: Float32Array,
    lse: Float32Array,
    meta: Float64Array,
  ): void;
  /** meta: as attentionF32's up to the mask strides, then the nine float operands' offsets in argument order */
  attentionBackwardF32(
    gradOut: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Uint8Array | null,
    out: Float32Array,
    lse: Float32Array,
    gradQ: Float32Array | null,
    gradK: Float32Array | null,
    gradV: Float32Array | null,
    meta: Float64Array,
  ): void;
  /** meta: [rows, classes, ignoreIndex, labelSmoothing, offsets of logits, target, loss, lse] */
  crossEntropyF32(
    logits: Float32Array,
    target: Int32Array,
    loss: Float32Array,
    lse: Float32Array,
    meta: Float64Array,
  ): void;
  /** meta: [rows, classes, ignoreIndex, labelSmoothing, the five operands' offsets in argument order] */
  crossEntropyBackwardF32(
    gradLoss: Float32Array,
    logits: Float32Array,
    target: Int32Array,
    lse: Float32Array,
    gradLogits: Float32Array,
    meta: Float64Array,
  ): void;
  /** meta: [numel, offsets of the four, then adamConstants' decay, l2, beta1, beta2, negStepSize, biasCorrection2Sqrt, eps] */
  adamStepF32(
    param: Float32Array,
    grad: Float32Array,
    expAvg: Float32Array,
    expAvgSq: Float32Array,
    meta: Float64Array,
  ): void;
  conv2dF32(x: Float32Array, w: Float32Array, out: Float32Array, meta: Float64Array): void;
  conv2dBackwardInputF32(
    gradOut: Float32Array,
    w: Float32Array,
    gradIn: Float32Array,
    meta: Float64Array,
  ): void;
  conv2dBackwardWeightF32(
    x: Float32Array,
    gradOut: Float32Array,
    gradW: Float32Array,
    meta: Float64Array,
  ): void;
}

/** 'auto': use the addon when it loads; true: require it; false: never load it. */
export type NativeMode = boolean | 'auto';

export interface NativeStatus {
  readonly addon: NativeAddon | null;
  /** Where the addon came from, or why there is none. */
  readonly detail: string;
}

const FUNCTIONS = [
  'matmulF32',
  'unaryF32',
  'copyF32',
  'binaryF32',
  'compareF32',
  'whereF32',
  'reduceF32',
  'softmaxF32',
  'layerNormF32',
  'layerNormBackwardF32',
  'attentionF32',
  'attentionBackwardF32',
  'crossEntropyF32',
  'crossEntropyBackwardF32',
  'adamStepF32',
  'conv2dF32',
  'conv2dBackwardInputF32',
  'conv2dBackwardWeightF32',
] as const;

interface NodeProcess {
  versions?: { node?: string };
  platform: string;
  arch: string;
  env: Record<string, string | undefined>;
  getBuiltinModule?: (id: string) => unknown;
}

type Require = ((id: string) => unknown) & { resolve(id: string): string };

// CommonJS builds have __dirname; the ESM build and the TypeScript sources use import.meta.url.
declare const __dirname: string | undefined;

function nodeProcess(): NodeProcess | null {
  const p = (globalThis as { process?: NodeProcess }).process;
  return p?.versions?.node ? p : null;
}

/** The mode the environment asks for: KILN_CPU_NATIVE=0|1, else 'auto'. */
export function nativeModeFromEnv(): NativeMode {
  const v = nodeProcess()?.env.KILN_CPU_NATIVE;
  if (v === '0' || v === 'false') return false;
  if (v === '1' || v === 'true') return true;
  return 'auto';
}

function thisDirectory(
  path: { dirname(p: string): string },
  url: { fileURLToPath(u: string): string },
): string | null {
  if (typeof __dirname === 'string') return __dirname;
  const here = import.meta.url;
  return typeof here === 'string' && here.startsWith('file:') ? path.dirname(url.fileURLToPath(here)) : null;
}

function isThisPackage(manifest: string): boolean {
  try {
    return (JSON.parse(manifest) as { name?: unknown }).name === '@kiln/backend-cpu';
  } catch {
    return false;
  }
}

function locateAndLoad(proc: NodeProcess): NativeStatus {
  const builtin = proc.getBuiltinModule;
  if (typeof builtin !== 'function')
    return { addon: null, detail: 'this Node has no process.getBuiltinModule (needs >= 20.16)' };
  const fs = builtin('node:fs') as {
    existsSync(p: string): boolean;
    readFileSync(p: string, e: string): string;
  };
  const path = builtin('node:path') as { join(...p: string[]): string; dirname(p: string): string };
  const url = builtin('node:url') as { fileURLToPath(u: string): string };
  const { createRequire } = builtin('node:module') as { createRequire(from: string): Require };

  const candidates: string[] = [];
  const explicit = proc.env.KILN_CPU_NATIVE_PATH;
  if (explicit) candidates.push(explicit);
  // The package root: the nearest folder up from here whose package.json is this package
  // (src/native/ in tests, dist/ when built).
  let root: string | null = null;
  for (let dir = thisDirectory(path, url); dir !== null; ) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && isThisPackage(fs.readFileSync(manifest, 'utf8'))) {
      root = dir;
      break;
    }
    const up = path.dirname(dir);
    dir = up === dir ? null : up;
  }
  if (root !== null) candidates.push(path.join(root, 'build', 'Release', 'kiln_cpu.node'));
  const requireHere = createRequire(
    root !== null ? path.join(root, 'package.json') : `${proc.env.PWD ?? '.'}/`,
  );
  // A prebuilt binary from the optional per-platform package (see README), when one is installed.
  try {
    candidates.push(requireHere.resolve(`@kiln/backend-cpu-${proc.platform}-${proc.arch}/kiln_cpu.node`));
  } catch {
    // not installed
  }
  const found = candidates.find((c) => fs.existsSync(c));
  if (found === undefined) {
    return {
      addon: null,
      detail: `no addon built (looked for ${candidates.join(', ') || 'the package root'})`,
    };
  }
  let addon: NativeAddon;
  try {
    addon = requireHere(found) as NativeAddon;
  } catch (e) {
    return { addon: null, detail: `${found} failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  const missing = FUNCTIONS.filter((f) => typeof addon[f] !== 'function');
  if (missing.length > 0)
    return { addon: null, detail: `${found} is stale (lacks ${missing.join(', ')}); rebuild it` };
  return { addon, detail: `${found} (${addon.info.gemmKernel}, ${addon.info.threads} threads)` };
}

let loaded: NativeStatus | null = null;
let warned = false;

/**
 * The addon for `mode` (default: from KILN_CPU_NATIVE). Loads once per process. With `mode` true a
 * missing addon throws; with 'auto' it logs one line and returns null.
 */
export function loadNative(mode: NativeMode = nativeModeFromEnv()): NativeStatus {
  if (mode === false) return { addon: null, detail: 'disabled (KILN_CPU_NATIVE=0 or { native: false })' };
  const proc = nodeProcess();
  if (proc === null) return { addon: null, detail: 'not running in Node' };
  loaded ??= locateAndLoad(proc);
  if (loaded.addon === null) {
    if (mode === true) {
      throw new Error(
        `@kiln/backend-cpu: the native addon is required (KILN_CPU_NATIVE=1) but unavailable: ${loaded.detail}. ` +
          'Build it with `pnpm --filter @kiln/backend-cpu run build:native`.',
      );
    }
    if (!warned) {
      warned = true;
      console.warn(
        `@kiln/backend-cpu: native kernels unavailable (${loaded.detail}); using the TypeScript kernels. ` +
          '(In the Kiln repository: `pnpm --filter @kiln/backend-cpu run build:native`.) KILN_CPU_NATIVE=0 silences this.',
      );
    }
  }
  return loaded;
}
