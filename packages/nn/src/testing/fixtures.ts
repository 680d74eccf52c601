// Test support (not exported by the package): reading the PyTorch fixtures in test-fixtures/ and
// comparing tensors against them with messages that name the case and the worst element.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k from '@kiln/core';

export interface EncodedTensor {
  shape: number[];
  data: (number | string | boolean)[];
  dtype?: 'int32' | 'bool';
}

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-fixtures');

export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, name), 'utf8')) as T;
}

function num(v: number | string | boolean): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v === 'nan' ? Number.NaN : v === 'inf' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
}

export function values(e: EncodedTensor): number[] {
  return e.data.map(num);
}

/** A fixture tensor as a Kiln tensor: floating values in `dtype`, integers int32, booleans bool. */
export function toTensor(e: EncodedTensor, dtype: k.DType = 'float64'): k.Tensor {
  const d = e.dtype ?? dtype;
  const t = k.tensor(Float64Array.from(values(e)), { dtype: d });
  return e.shape.length === 1 ? t : t.reshape(e.shape);
}

export function toStateDict(
  state: Record<string, EncodedTensor>,
  dtype: k.DType = 'float64',
): Record<string, k.Tensor> {
  const out: Record<string, k.Tensor> = {};
  for (const [name, e] of Object.entries(state))
    out[name] = toTensor(e, name.endsWith('num_batches_tracked') ? 'int64' : dtype);
  return out;
}

export interface Tolerance {
  rtol: number;
  /** Absolute tolerance relative to the largest |expected| value (at least 1). */
  atol: number;
}

export const F64: Tolerance = { rtol: 1e-8, atol: 1e-10 };
export const F32: Tolerance = { rtol: 1e-4, atol: 1e-5 };

/** Largest error seen per label (absolute, and relative to max(1, max |expected|)); `KILN_NN_REPORT=1` prints it. */
export const errorLog = new Map<string, { abs: number; rel: number }>();

/** Throws unless `actual` matches `expected` in shape and, elementwise, within the tolerance. */
export function expectClose(actual: k.Tensor, expected: EncodedTensor, tol: Tolerance, what: string): void {
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(`${what}: shape [${actual.shape.join(', ')}] != expected [${expected.shape.join(', ')}]`);
  }
  const got = Float64Array.from(actual.dataSync() as ArrayLike<number>, Number);
  const want = values(expected);
  const scale = Math.max(1, ...want.filter(Number.isFinite).map(Math.abs));
  let worstAbs = 0;
  let worstRel = 0;
  for (let i = 0; i < want.length; i++) {
    const a = got[i];
    const e = want[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const err = Math.abs(a - e);
    worstAbs = Math.max(worstAbs, Number.isNaN(err) ? Number.POSITIVE_INFINITY : err);
    worstRel = Math.max(worstRel, err / scale);
    if (!(err <= tol.atol * scale + tol.rtol * Math.abs(e))) {
      throw new Error(
        `${what}: element ${i} is ${a}, expected ${e} (error ${err.toExponential(3)}; rtol ${tol.rtol}, atol ${tol.atol} x ${scale.toPrecision(3)})`,
      );
    }
  }
  const prev = errorLog.get(what) ?? { abs: 0, rel: 0 };
  errorLog.set(what, { abs: Math.max(prev.abs, worstAbs), rel: Math.max(prev.rel, worstRel) });
}

/** Prints the largest errors per label prefix when KILN_NN_REPORT is set. */
export function reportErrors(title: string): void {
  if (!process.env.KILN_NN_REPORT) return;
  const groups = new Map<string, { abs: number; rel: number; n: number }>();
  for (const [label, e] of errorLog) {
    const key = label.split(' ').slice(0, 2).join(' ');
    const g = groups.get(key) ?? { abs: 0, rel: 0, n: 0 };
    groups.set(key, { abs: Math.max(g.abs, e.abs), rel: Math.max(g.rel, e.rel), n: g.n + 1 });
  }
  const lines = [...groups].map(
    ([key, g]) =>
      `${key}: ${g.n} comparisons, max abs ${g.abs.toExponential(2)}, max abs/scale ${g.rel.toExponential(2)}`,
  );
  console.log(`${title}\n${lines.join('\n')}`);
}
