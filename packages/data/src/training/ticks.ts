// Axis ticks at "nice" values: 1, 2 or 5 times a power of ten, with about `count` ticks. This is
// d3-array's ticks/tickIncrement and d3-scale's nice (Bostock, ISC licence), the usual answer to
// Heckbert's "Nice numbers for graph labels" (Graphics Gems, 1990). Ticks below 1 are computed as
// integer / power-of-ten, so 0.3 is 3 / 10 and not 3 * 0.1 = 0.30000000000000004.

const E10 = Math.sqrt(50);
const E5 = Math.sqrt(10);
const E2 = Math.sqrt(2);

/** [i1, i2, inc]: ticks are i * inc for i in i1..i2 (inc > 0), or i / -inc (inc < 0). */
function tickSpec(start: number, stop: number, count: number): [number, number, number] {
  const step = (stop - start) / Math.max(0, count);
  const power = Math.floor(Math.log10(step));
  const error = step / 10 ** power;
  const factor = error >= E10 ? 10 : error >= E5 ? 5 : error >= E2 ? 2 : 1;
  let i1: number;
  let i2: number;
  let inc: number;
  if (power < 0) {
    inc = 10 ** -power / factor;
    i1 = Math.round(start * inc);
    i2 = Math.round(stop * inc);
    if (i1 / inc < start) ++i1;
    if (i2 / inc > stop) --i2;
    inc = -inc;
  } else {
    inc = 10 ** power * factor;
    i1 = Math.round(start / inc);
    i2 = Math.round(stop / inc);
    if (i1 * inc < start) ++i1;
    if (i2 * inc > stop) --i2;
  }
  if (i2 < i1 && 0.5 <= count && count < 2) return tickSpec(start, stop, count * 2);
  return [i1, i2, inc];
}

/** About `count` nice values in [start, stop] (start <= stop). */
export function ticks(start: number, stop: number, count: number): number[] {
  if (!(count > 0)) return [];
  if (start === stop) return [start];
  const [i1, i2, inc] = tickSpec(start, stop, count);
  if (!(i2 >= i1)) return [];
  return Array.from({ length: i2 - i1 + 1 }, (_, i) => (inc < 0 ? (i1 + i) / -inc : (i1 + i) * inc));
}

/** The tick step for [start, stop]: positive, or negative meaning 1 / -step (d3's tickIncrement). */
export function tickIncrement(start: number, stop: number, count: number): number {
  const step = (stop - start) / Math.max(0, count);
  const power = Math.floor(Math.log10(step));
  const error = step / 10 ** power;
  const factor = error >= E10 ? 10 : error >= E5 ? 5 : error >= E2 ? 2 : 1;
  return power >= 0 ? factor * 10 ** power : -(10 ** -power) / factor;
}

/** [start, stop] widened to multiples of the tick step, so the axis begins and ends on a tick (d3's nice). */
export function niceDomain(start: number, stop: number, count: number): [number, number] {
  let prestep: number | undefined;
  for (let iter = 0; iter < 10; iter++) {
    const step = tickIncrement(start, stop, count);
    if (step === prestep) break;
    if (step > 0) {
      start = Math.floor(start / step) * step;
      stop = Math.ceil(stop / step) * step;
    } else if (step < 0) {
      start = Math.ceil(start * step) / step;
      stop = Math.floor(stop * step) / step;
    } else break;
    prestep = step;
  }
  return [start, stop];
}

/**
 * Ticks for a log axis over [lo, hi] (lo > 0): the powers of ten inside, thinned to at most ~count;
 * with fewer than three decades, also 2x and 5x each power; with fewer than two ticks still,
 * linear ticks.
 */
export function logTicks(lo: number, hi: number, count: number): number[] {
  const e0 = Math.ceil(Math.log10(lo) - 1e-12);
  const e1 = Math.floor(Math.log10(hi) + 1e-12);
  const pow = (e: number) => (e < 0 ? 1 / 10 ** -e : 10 ** e);
  if (e1 - e0 + 1 >= 3) {
    const every = Math.ceil((e1 - e0 + 1) / count);
    const out: number[] = [];
    for (let e = e0; e <= e1; e++) if ((e - e0) % every === 0) out.push(pow(e));
    return out;
  }
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = e < 0 ? m / 10 ** -e : m * 10 ** e;
      if (v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12)) out.push(v);
    }
  }
  return out.length >= 2 ? out : ticks(lo, hi, count);
}

/** A tick label with as many digits as the tick step needs: 0.25 -> "0.25", 1000 -> "1000", 2.5e6 -> "2.5e+6". */
export function formatTick(value: number, step: number): string {
  const abs = Math.abs(value);
  // Decimal exponent of the smallest digit that differs between neighbouring ticks.
  const stepExponent = Math.floor(Math.log10(Math.abs(step) || abs || 1) + 1e-9);
  if (value !== 0 && (abs >= 1e6 || abs < 1e-4)) {
    const digits = Math.max(0, Math.min(12, Math.floor(Math.log10(abs) + 1e-9) - stepExponent));
    return value.toExponential(digits).replace(/\.?0+e/, 'e');
  }
  return value.toFixed(Math.min(12, Math.max(0, -stepExponent)));
}
