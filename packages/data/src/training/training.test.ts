import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lossCurveSvg, writeLossCurve } from './plot.js';
import { formatDuration, ProgressBar, type ProgressStream, withProgress } from './progress.js';
import { formatTick, logTicks, niceDomain, tickIncrement, ticks } from './ticks.js';

function recorder(isTTY: boolean): ProgressStream & { chunks: string[] } {
  const chunks: string[] = [];
  return { chunks, isTTY, write: (c: string) => chunks.push(c) };
}

/** A clock the test moves by hand (milliseconds). */
function fakeClock() {
  const clock = { t: 0, now: () => clock.t };
  return clock;
}

describe('ticks (d3-array / d3-scale)', () => {
  it("reproduces d3's documented examples", () => {
    // d3-array: ticks(0, 1, 10) gives exact decimals; tickIncrement(1, 9, 5) = 2; nice(1, 9, 5) = [0, 10].
    expect(ticks(0, 1, 10)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(tickIncrement(1, 9, 5)).toBe(2);
    expect(niceDomain(1, 9, 5)).toEqual([0, 10]);
    // d3-scale's README: the domain [0.201479..., 0.996679...] made nice is [0.2, 1].
    expect(niceDomain(0.201479, 0.996679, 10)).toEqual([0.2, 1]);
    expect(ticks(1, 9, 5)).toEqual([2, 4, 6, 8]);
    expect(ticks(0, 1000, 5)).toEqual([0, 200, 400, 600, 800, 1000]);
  });

  it('puts log ticks on powers of ten, adding 2x and 5x over short ranges', () => {
    expect(logTicks(0.05, 3, 5)).toEqual([0.05, 0.1, 0.2, 0.5, 1, 2]);
    expect(logTicks(1e-3, 100, 6)).toEqual([0.001, 0.01, 0.1, 1, 10, 100]);
    expect(logTicks(1e-6, 1e4, 5)).toEqual([1e-6, 1e-3, 1, 1e3]);
  });

  it('labels ticks with the digits the step needs', () => {
    expect(ticks(0, 1, 10).map((t) => formatTick(t, 0.1))).toEqual([
      '0.0',
      '0.1',
      '0.2',
      '0.3',
      '0.4',
      '0.5',
      '0.6',
      '0.7',
      '0.8',
      '0.9',
      '1.0',
    ]);
    expect(formatTick(1000, 200)).toBe('1000');
    expect(formatTick(2500000, 500000)).toBe('2.5e+6');
    expect(formatTick(0.00005, 0.00005)).toBe('5e-5');
  });
});

describe('ProgressBar', () => {
  it('shows label, bar, step, percentage, metrics, throughput and ETA', () => {
    const clock = fakeClock();
    const stream = recorder(true);
    const bar = new ProgressBar({ total: 1000, label: 'epoch 1/3', stream, now: clock.now });
    for (let i = 0; i < 500; i++) {
      clock.t += 10; // 100 items per second
      bar.update(1, { loss: 0.123456 });
    }
    expect(bar.format()).toBe(
      'epoch 1/3 |##########          | 500/1000 50% loss=0.1235 | 100 it/s | 00:05<00:05',
    );
  });

  it('on a TTY redraws one line with \\r, at most about 10 times a second', () => {
    const clock = fakeClock();
    const stream = recorder(true);
    const bar = new ProgressBar({ total: 2000, stream, now: clock.now });
    for (let i = 0; i < 2000; i++) {
      clock.t += 1;
      bar.tick();
    }
    bar.finish();
    // 2 seconds of updates: about 20 redraws plus the final line.
    expect(stream.chunks.length).toBeLessThanOrEqual(22);
    expect(stream.chunks.every((c) => c.startsWith('\r'))).toBe(true);
    expect(stream.chunks.slice(0, -1).some((c) => c.includes('\n'))).toBe(false);
    // The final line, then erase-to-end-of-line (ESC [K) and a newline.
    expect(
      stream.chunks[stream.chunks.length - 1].endsWith('2000/2000 100% | 1000 it/s | 00:02\u001b[K\n'),
    ).toBe(true);
  });

  it('off a TTY prints plain lines at most every logInterval seconds, and one at the end', () => {
    const clock = fakeClock();
    const stream = recorder(false);
    const bar = new ProgressBar({ total: 300, label: 'train', stream, now: clock.now, logInterval: 10 });
    for (let i = 0; i < 300; i++) {
      clock.t += 100; // 30 seconds in all
      bar.tick();
    }
    bar.finish({ loss: 0.5 });
    expect(stream.chunks).toHaveLength(4);
    expect(stream.chunks.every((c) => !c.includes('\r') && c.endsWith('\n'))).toBe(true);
    expect(stream.chunks[0]).toBe('train |#######             | 100/300 33% | 10.0 it/s | 00:10<00:20\n');
    expect(stream.chunks[3]).toBe(
      'train |####################| 300/300 100% loss=0.5000 | 10.0 it/s | 00:30\n',
    );
  });

  it("smooths the rate as tqdm's EMA (smoothing 0.3, bias-corrected)", () => {
    // Samples (dn, dt) = (10, 1 s) then (30, 1 s). EMA of dn: 0.3*10 = 3, /(1-0.7) = 10; then
    // 0.3*30 + 0.7*3 = 11.1, /(1-0.49) = 21.7647...; EMA of dt stays 1, so rate = 21.7647 it/s.
    const clock = fakeClock();
    const bar = new ProgressBar({ stream: recorder(false), now: clock.now });
    clock.t = 1000;
    bar.update(10);
    clock.t = 2000;
    bar.update(30);
    expect(bar.rate).toBeCloseTo(11.1 / 0.51, 10);
  });

  it('formats durations as tqdm does', () => {
    expect(formatDuration(65)).toBe('01:05');
    expect(formatDuration(3725)).toBe('1:02:05');
  });

  it('withProgress counts the items of a loop, takes total from length, and finishes when the loop breaks', async () => {
    const stream = recorder(false);
    const items = withProgress([1, 2, 3, 4], { label: 'x', stream });
    expect(items.bar.total).toBe(4);
    const seen: number[] = [];
    for await (const v of items) {
      items.bar.set({ v });
      seen.push(v);
      if (v === 3) break;
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(items.bar.n).toBe(2);
    expect(stream.chunks).toHaveLength(1);
    expect(stream.chunks[0]).toMatch(/^x \|#{10} {10}\| 2\/4 50% v=3 \|/);
  });
});

/** Well-formedness of the generated XML: every element closed, in order. */
function checkWellFormed(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (closing) expect(stack.pop()).toBe(name);
    else stack.push(name);
  }
  expect(stack).toEqual([]);
}

function labels(svg: string, group: string): string[] {
  const body = svg.split(`<g class="${group}"`)[1].split('</g>')[0];
  return [...body.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

describe('lossCurveSvg', () => {
  const train = {
    name: 'train',
    points: Array.from(
      { length: 101 },
      (_, i) => [i * 10, 2.3 * Math.exp(-i / 30) + 0.1] as [number, number],
    ),
  };
  const val = {
    name: 'val',
    points: Array.from(
      { length: 11 },
      (_, i) => [i * 100, 2.3 * Math.exp(-i / 3) + 0.25] as [number, number],
    ),
  };

  it('draws one path per series with nice axes, labels, title and legend', () => {
    const svg = lossCurveSvg([train, val], {
      title: 'Fashion-MNIST MLP',
      xLabel: 'step',
      yLabel: 'cross-entropy',
    });
    checkWellFormed(svg);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(labels(svg, 'x-axis')).toEqual(['0', '200', '400', '600', '800', '1000']);
    // y values span 0.11..2.55: the nice domain [0, 3] with ticks every 0.5.
    expect(labels(svg, 'y-axis')).toEqual(['0.0', '0.5', '1.0', '1.5', '2.0', '2.5', '3.0']);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(labels(svg, 'legend')).toEqual(['train', 'val']);
    expect(svg).toContain('>Fashion-MNIST MLP</text>');
    expect(svg).toContain('>cross-entropy</text>');
  });

  it('uses a log y axis on request and breaks lines at NaN, infinite and (log) non-positive values', () => {
    const diverged = {
      name: 'lr=1',
      points: [
        [0, 1],
        [1, 0.5],
        [2, Number.NaN],
        [3, 0.3],
        [4, 0.2],
        [5, 0],
        [6, 0.1],
        [7, 0.05],
      ] as [number, number][],
    };
    const svg = lossCurveSvg([diverged], { logY: true });
    checkWellFormed(svg);
    expect(labels(svg, 'y-axis')).toEqual(['0.05', '0.1', '0.2', '0.5', '1']);
    const d = svg.match(/<path d="([^"]*)"/)![1];
    expect(d.match(/M/g)).toHaveLength(3);
  });

  it('escapes names and draws a lone point as a dot', () => {
    const svg = lossCurveSvg([{ name: 'val <best> & co', points: [[5, 1]] }]);
    checkWellFormed(svg);
    expect(svg).toContain('val &lt;best&gt; &amp; co');
    expect(svg).toContain('<circle');
  });

  it('rejects input with nothing to plot', () => {
    expect(() => lossCurveSvg([{ name: 'a', points: [[0, -1]] }], { logY: true })).toThrow(
      'lossCurveSvg: no points to plot (a log scale needs values > 0) in 1 series',
    );
  });

  it('writeLossCurve writes the file atomically (no temporary left behind)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-plot-'));
    const path = join(dir, 'loss.svg');
    await writeLossCurve(path, [train, val], { title: 't' });
    await writeLossCurve(path, [train], { title: 't' });
    expect(await readFile(path, 'utf8')).toBe(lossCurveSvg([train], { title: 't' }));
    expect(await readdir(dir)).toEqual(['loss.svg']);
    await expect(writeLossCurve(join(dir, 'missing', 'x.svg'), [train])).rejects.toThrow(
      /writeLossCurve: cannot write .*missing\/x\.svg/,
    );
  });
});
