// A progress bar for training loops: label (e.g. the epoch), step, metrics (loss, ...), throughput
// and ETA. On a terminal it redraws one line with \r, at most every `redrawInterval` seconds; on
// anything else (CI logs, files, browsers) it prints a plain line at most every `logInterval`
// seconds and one at the end, so logs stay readable.
//
// Throughput is smoothed as tqdm does: exponential moving averages of the counts and of the time
// between samples, with bias correction (the EMA's zero start divided out), weight `smoothing` on
// the newest sample; rate = EMA(dn) / EMA(dt), ETA = (total - n) / rate.

/** Where lines go: a Node stream (process.stderr by default) or anything with write(). */
export interface ProgressStream {
  write(chunk: string): unknown;
  /** Redraw in place when true. */
  isTTY?: boolean;
  /** Terminal width; TTY lines are cut to fit. */
  columns?: number;
}

export type Metrics = Record<string, number | string>;

export interface ProgressBarOptions {
  /** Expected count; omit when unknown (no bar, percentage or ETA then). */
  total?: number;
  /** Text in front, e.g. 'epoch 3/10'. */
  label?: string;
  stream?: ProgressStream;
  /** Bar width in characters (default 20). */
  width?: number;
  /** Name of one counted item in the throughput (default 'it'). */
  unit?: string;
  /** Seconds between TTY redraws (default 0.1: at most 10 per second). */
  redrawInterval?: number;
  /** Seconds between plain lines when not on a TTY (default 10). */
  logInterval?: number;
  /** Weight of the newest sample in the rate's moving average, in (0, 1]; 1 = instantaneous (default 0.3). */
  smoothing?: number;
  /** Clock in milliseconds (default performance.now); for tests. */
  now?: () => number;
}

/** Seconds as m:ss... tqdm's format_interval: mm:ss, or h:mm:ss from an hour on. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const two = (v: number) => String(v).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${two(m)}:${two(s % 60)}`;
}

function formatMetric(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  return Number.isFinite(v) ? v.toPrecision(4) : String(v);
}

function formatRate(rate: number, unit: string): string {
  if (!(rate > 0)) return `? ${unit}/s`;
  // Below one item per second, seconds per item reads better (tqdm does the same).
  if (rate < 1) return `${(1 / rate).toFixed(2)} s/${unit}`;
  return `${rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2)} ${unit}/s`;
}

/** tqdm's EMA: bias-corrected exponential moving average. */
class MovingAverage {
  private value = 0;
  private calls = 0;

  constructor(private readonly alpha: number) {}

  add(x: number): void {
    this.value = this.alpha * x + (1 - this.alpha) * this.value;
    this.calls++;
  }

  get mean(): number {
    return this.calls === 0 ? 0 : this.value / (1 - (1 - this.alpha) ** this.calls);
  }
}

function defaultStream(): ProgressStream {
  const proc = (globalThis as { process?: { stderr?: ProgressStream } }).process;
  if (proc?.stderr && typeof proc.stderr.write === 'function') return proc.stderr;
  return { write: (chunk: string) => console.log(chunk.replace(/\n$/, '')), isTTY: false };
}

export class ProgressBar {
  /** Items done so far. */
  n = 0;
  readonly total: number | undefined;
  readonly label: string;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly width: number;
  private readonly unit: string;
  private readonly redrawMs: number;
  private readonly logMs: number;
  private readonly now: () => number;
  private readonly dn: MovingAverage;
  private readonly dt: MovingAverage;
  private metrics: Metrics = {};
  private start: number;
  private lastSampleTime: number;
  private lastSampleN = 0;
  private lastLogTime: number;
  private finished = false;

  constructor(options: ProgressBarOptions = {}) {
    const { total, smoothing = 0.3 } = options;
    if (total !== undefined && !(Number.isFinite(total) && total >= 0)) {
      throw new RangeError(`ProgressBar: total must be a non-negative number (got ${total})`);
    }
    if (!(smoothing > 0 && smoothing <= 1))
      throw new RangeError(`ProgressBar: smoothing must be in (0, 1] (got ${smoothing})`);
    this.total = total;
    this.label = options.label ?? '';
    this.stream = options.stream ?? defaultStream();
    this.tty = this.stream.isTTY === true;
    this.width = options.width ?? 20;
    this.unit = options.unit ?? 'it';
    this.redrawMs = (options.redrawInterval ?? 0.1) * 1000;
    this.logMs = (options.logInterval ?? 10) * 1000;
    this.now = options.now ?? (() => performance.now());
    this.dn = new MovingAverage(smoothing);
    this.dt = new MovingAverage(smoothing);
    this.start = this.now();
    this.lastSampleTime = this.start;
    this.lastLogTime = this.start;
  }

  /** Restarts the clock (withProgress does so when iteration begins). */
  restart(): void {
    this.start = this.now();
    this.lastSampleTime = this.start;
    this.lastLogTime = this.start;
  }

  /** Adds `n` done items (tqdm's update) and merges `metrics` into those shown. */
  update(n = 1, metrics?: Metrics): void {
    if (this.finished) return;
    this.n += n;
    if (metrics) Object.assign(this.metrics, metrics);
    const t = this.now();
    if (t - this.lastSampleTime < this.redrawMs) return;
    this.sample(t);
    if (this.tty) this.stream.write(`\r${this.fit(this.format(t))}\x1b[K`);
    else if (t - this.lastLogTime >= this.logMs) {
      this.lastLogTime = t;
      this.stream.write(`${this.format(t)}\n`);
    }
  }

  /** One more item. */
  tick(metrics?: Metrics): void {
    this.update(1, metrics);
  }

  /** Replaces shown metrics without counting progress (tqdm's set_postfix). */
  set(metrics: Metrics): void {
    Object.assign(this.metrics, metrics);
  }

  /** Smoothed items per second (0 before the first sample). */
  get rate(): number {
    const dt = this.dt.mean;
    return dt > 0 ? this.dn.mean / dt : 0;
  }

  /** Writes the final line (a TTY line is completed with a newline). Further updates are ignored. */
  finish(metrics?: Metrics): void {
    if (this.finished) return;
    if (metrics) Object.assign(this.metrics, metrics);
    const t = this.now();
    if (this.n > this.lastSampleN) this.sample(t);
    this.finished = true;
    const line = this.format(t, true);
    this.stream.write(this.tty ? `\r${this.fit(line)}\x1b[K\n` : `${line}\n`);
  }

  /**
   * The status line: `label |#####     | 50/100 50% loss=0.1234 | 250 it/s | 00:02<00:02`.
   * Final lines show the average rate over the whole run and the elapsed time.
   */
  format(t = this.now(), final = false): string {
    const parts: string[] = [];
    if (this.label) parts.push(this.label);
    const elapsed = (t - this.start) / 1000;
    const { total } = this;
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, this.n / total);
      const filled = Math.round(frac * this.width);
      parts.push(`|${'#'.repeat(filled)}${' '.repeat(this.width - filled)}|`);
      parts.push(`${this.n}/${total}`, `${Math.floor(frac * 100)}%`);
    } else {
      parts.push(`${this.n}`);
    }
    const metrics = Object.entries(this.metrics).map(([key, v]) => `${key}=${formatMetric(v)}`);
    if (metrics.length > 0) parts.push(metrics.join(' '));
    const rate = final && elapsed > 0 ? this.n / elapsed : this.rate;
    let time = formatDuration(elapsed);
    if (!final && total !== undefined) time += `<${rate > 0 ? formatDuration((total - this.n) / rate) : '?'}`;
    return `${parts.join(' ')} | ${formatRate(rate, this.unit)} | ${time}`;
  }

  private sample(t: number): void {
    this.dn.add(this.n - this.lastSampleN);
    this.dt.add((t - this.lastSampleTime) / 1000);
    this.lastSampleN = this.n;
    this.lastSampleTime = t;
  }

  private fit(line: string): string {
    const cols = this.stream.columns;
    return cols && line.length > cols - 1 ? line.slice(0, cols - 1) : line;
  }
}

export interface ProgressIterable<T> extends AsyncIterable<T> {
  /** The bar: call `bar.set({ loss })` inside the loop to show metrics. */
  readonly bar: ProgressBar;
}

function lengthOf(items: unknown): number | undefined {
  if (Array.isArray(items)) return items.length;
  try {
    const n = (items as { length?: unknown }).length;
    return typeof n === 'number' ? n : undefined;
  } catch {
    // e.g. a DataLoader over a stream of unknown length
    return undefined;
  }
}

/**
 * Wraps a (sync or async) iterable so each item counts as one step; `total` defaults to its
 * `length` (arrays, DataLoader). The bar finishes when the loop ends, however it ends.
 *
 *   const epoch = withProgress(loader, { label: `epoch ${e}` });
 *   for await (const [x, y] of epoch) { ...; epoch.bar.set({ loss }); }
 */
export function withProgress<T>(
  items: Iterable<T> | AsyncIterable<T>,
  options: ProgressBarOptions = {},
): ProgressIterable<T> {
  const bar = new ProgressBar({ ...options, total: options.total ?? lengthOf(items) });
  async function* iterate(): AsyncGenerator<T> {
    bar.restart();
    try {
      for await (const item of items as AsyncIterable<T>) {
        yield item;
        bar.update(1);
      }
    } finally {
      bar.finish();
    }
  }
  return { bar, [Symbol.asyncIterator]: iterate };
}
