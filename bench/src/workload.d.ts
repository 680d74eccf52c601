// The shape of a workload module (src/workloads/*.mjs). The .mjs files reference these types from
// JSDoc, and `pnpm --filter @kiln/bench typecheck` checks them.
import type { Tensor } from '@kiln/core';
import type { Policy } from './harness.mjs';

/** Figures of this machine measured in the same run by peers/fma_peak.c and peers/membw.c. */
export interface Limits {
  /**
   * fp32 FMA peak of the machine (the W1 ceiling): the best per-core rate of 256-bit FMA chains
   * times the number of cores, the textbook definition. Measured on all cores at once the figure
   * is the same on a quiet machine, and lower when other work takes turns on the cores.
   */
  fp32PeakGflops: number;
  /** Best single-core-equivalent rate seen (GFLOP/s per thread, over all thread counts). */
  fp32PerCoreGflops: number;
  /** The best trial with every core running at once. */
  fp32AllCoresGflops: number;
  /** Cores (= fma_peak's largest thread count). */
  cores: number;
  clockGhz: number;
  /** Read-only streaming sum over 256 MiB with every core: the DRAM read bandwidth. */
  readBandwidthGBs: number;
  /** The W2 computation as one fused C loop over the same 16 MiB buffer, every core (best trial). */
  w2FusedCMs: number;
}

/** A reference a figure is compared to, e.g. `{ label: 'fp32 peak', value: 232 }` in the figure's unit. */
export interface LimitRef {
  label: string;
  value: number;
}

export interface OptionSpec<T> {
  description: string;
  default: T;
  parse(text: string): T;
}

export interface Case {
  /** Short and unique within the workload: `N=1024`. */
  label: string;
  /** Passed to `setup` and, as JSON, to the PyTorch peer. */
  params: Record<string, number | string | boolean>;
}

export interface Prepared {
  /**
   * One repetition. Return the (small) tensor(s) to read back: the harness runs `step` inside
   * `tidy`, awaits `data()` of what it returns, then disposes it, so queued work is timed and the
   * live-tensor count stays flat.
   */
  step(): Tensor | Tensor[] | Promise<Tensor | Tensor[]>;
  /** Frees what `setup` made. */
  dispose(): void;
}

export interface Figure {
  unit: string;
  /** The workload's figure from a median time in ms. */
  fromMs(ms: number, params: Case['params']): number;
}

/** A workload timed in this process on Kiln, and by peers/torch_bench.py on PyTorch. */
export interface KilnWorkload {
  kind: 'kiln';
  id: string;
  title: string;
  /** Command-line options (`--n 256,512`), parsed into the record `cases` receives. */
  options: Record<string, OptionSpec<unknown>>;
  cases(options: Record<string, unknown>): Case[];
  figure: Figure;
  /** References for "% of limit" columns; empty when the limits were not measured. */
  limits(limits: Limits | null, params: Case['params']): LimitRef[];
  /** Whether peers/torch_workloads has this workload. */
  torch: boolean;
  /**
   * This workload's own timing defaults, over DEFAULT_POLICY (e.g. fewer repetitions for a case
   * that takes seconds); flags given on the command line still win. PyTorch gets the same.
   */
  policy?: Partial<Policy>;
  /**
   * The Kiln CPU paths timed when --kiln is not given (default: every path), for a workload that
   * would take minutes on the one-thread TypeScript kernels (W6).
   */
  kilnPaths?: ('native' | 'ts')[];
  setup(params: Case['params']): Prepared | Promise<Prepared>;
}

/** A workload whose own script does the timing (e.g. W7 in the tokenizers package). */
export interface ExternalWorkload {
  kind: 'external';
  id: string;
  title: string;
  /** Path from the repository root. */
  script: string;
  /** Workspace package built (turbo) before the script runs. */
  buildPackage?: string;
  /** Command-line options of the harness (`--webgpu-n 256,512`), parsed and passed to `args`. */
  options?: Record<string, OptionSpec<unknown>>;
  /**
   * Command-line arguments for the script. `resultFile` is where the harness looks for the
   * script's JSON summary afterwards (also given as KILN_BENCH_RESULT_FILE in the environment);
   * `options` holds the values of `options` above.
   */
  args?(resultFile: string, options: Record<string, unknown>): string[];
}

export type Workload = KilnWorkload | ExternalWorkload;
