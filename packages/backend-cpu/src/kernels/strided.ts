// Strided iteration shared by the kernels. Operands are coalesced first (adjacent dims that are
// contiguous with each other in every operand merge into one, size-1 dims drop), so common
// layouts run as one flat loop; the rest walk an odometer over the outer dims and hand each
// innermost row to a tight loop.
import { coalesceDims } from '@kiln/core';

export interface Operand {
  readonly strides: readonly number[];
  readonly offset: number;
}

/**
 * Calls `row(offsets, n, innerStrides)` once per innermost row of the iteration space, with the
 * starting offset of each operand. `offsets` is reused between calls.
 */
export function forEachRow(
  shape: readonly number[],
  operands: readonly Operand[],
  row: (offsets: Int32Array | number[], n: number, inner: readonly number[]) => void,
): void {
  let total = 1;
  for (const s of shape) total *= s;
  if (total === 0) return;
  const c = coalesceDims(shape, operands);
  const k = operands.length;
  const offsets = operands.map((op) => op.offset);
  if (c.shape.length === 0) {
    row(
      offsets,
      1,
      operands.map(() => 0),
    );
    return;
  }
  const nd = c.shape.length;
  const n = c.shape[nd - 1];
  const inner = c.strides.map((s) => s[nd - 1]);
  if (nd === 1) {
    row(offsets, n, inner);
    return;
  }
  const outerShape = c.shape.slice(0, nd - 1);
  const counter = new Array<number>(nd - 1).fill(0);
  const base = operands.map((op) => op.offset);
  const rows = total / n;
  const cur = [...base];
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < k; j++) offsets[j] = cur[j];
    row(offsets, n, inner);
    // Advance the odometer over the outer dims.
    for (let d = nd - 2; d >= 0; d--) {
      counter[d]++;
      if (counter[d] < outerShape[d]) {
        for (let j = 0; j < k; j++) cur[j] += c.strides[j][d];
        break;
      }
      counter[d] = 0;
      for (let j = 0; j < k; j++) cur[j] -= c.strides[j][d] * (outerShape[d] - 1);
    }
  }
}

/** Offsets of every element of a strided view, in row-major order (for small index tensors). */
export function elementOffsets(shape: readonly number[], op: Operand): Int32Array | Float64Array {
  let total = 1;
  for (const s of shape) total *= s;
  const out = total < 2 ** 31 ? new Int32Array(total) : new Float64Array(total);
  let p = 0;
  forEachRow(shape, [op], (o, n, inner) => {
    let i = o[0];
    const s = inner[0];
    for (let e = 0; e < n; e++, i += s) out[p++] = i;
  });
  return out;
}
