// Value comparison with failure messages that say where and by how much two tensors differ.
import type * as k from '@kiln/core';

export interface Tolerance {
  rtol: number;
  atol: number;
}

export const FLOAT32_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };
export const FLOAT64_TOL: Tolerance = { rtol: 1e-10, atol: 1e-12 };

/** Values of any tensor as float64 numbers (int64 and bool included). */
export async function valuesOf(t: k.Tensor): Promise<Float64Array> {
  const d = await t.data();
  return Float64Array.from(d as ArrayLike<number | bigint>, Number);
}

/**
 * Returns null when every |actual - expected| <= atol + rtol * |expected| (NaN matching NaN, equal
 * infinities matching), else a message naming the first bad element and the worst error.
 */
export function compareValues(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance,
): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} != expected ${expected.length}`;
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue;
    const err = Math.abs(a - e);
    const allowed = tol.atol + tol.rtol * Math.abs(e);
    if (!(err <= allowed)) {
      const excess = Number.isFinite(err) ? err / allowed : Number.POSITIVE_INFINITY;
      if (worstAt < 0 || excess > worst) {
        worst = excess;
        worstAt = i;
      }
    }
  }
  if (worstAt < 0) return null;
  return `element ${worstAt}: got ${actual[worstAt]}, expected ${expected[worstAt]} (error ${Math.abs(actual[worstAt] - expected[worstAt]).toExponential(3)} > rtol ${tol.rtol}, atol ${tol.atol})`;
}

export async function assertClose(
  actual: k.Tensor,
  expected: k.Tensor,
  tol: Tolerance,
  what: string,
): Promise<void> {
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    throw new Error(`${what}: shape [${actual.shape}] != expected [${expected.shape}]`);
  }
  const msg = compareValues(await valuesOf(actual), await valuesOf(expected), tol);
  if (msg) throw new Error(`${what}: ${msg}`);
}
