/** What a long training step reports. */
export interface TrainingProgress {
  readonly stage: 'count-words' | 'merge';
  readonly done: number;
  readonly total: number;
}

export type ProgressCallback = (progress: TrainingProgress) => void;

interface Stderr {
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

function stderr(): Stderr | null {
  const p = (globalThis as { process?: { stderr?: Stderr } }).process;
  return p?.stderr ?? null;
}

/**
 * A one-line progress bar on stderr, redrawn in place on a terminal (at most ~10 times a second);
 * without a terminal (CI logs) it prints one line per stage when the stage ends.
 */
export function terminalProgressBar(): ProgressCallback {
  const out = stderr();
  let lastDraw = 0;
  return (p) => {
    if (out === null) return;
    const finished = p.done >= p.total;
    if (!out.isTTY) {
      if (finished) out.write(`${p.stage}: ${p.done}/${p.total}\n`);
      return;
    }
    const now = Date.now();
    if (!finished && now - lastDraw < 100) return;
    lastDraw = now;
    const width = Math.max(10, Math.min(40, (out.columns ?? 80) - 40));
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
    const filled = Math.round(frac * width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    out.write(`\r${p.stage.padEnd(12)} [${bar}] ${p.done}/${p.total}${finished ? '\n' : ''}`);
  };
}

/** Combines the user's callback and the optional terminal bar. */
export function progressReporter(
  onProgress?: ProgressCallback,
  showProgress?: boolean,
): ProgressCallback | null {
  const bar = showProgress ? terminalProgressBar() : null;
  if (!onProgress && !bar) return null;
  return (p) => {
    onProgress?.(p);
    bar?.(p);
  };
}
