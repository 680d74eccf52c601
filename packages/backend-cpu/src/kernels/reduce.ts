// Reductions. The reduced dims are split from the kept ones; each output element folds its slice,
// walking the slice's dims as a small strided iteration. Sums accumulate in double precision.
import type { ArgReduceOp, KernelTensor, ReduceOp } from '@kiln/core';
import { coalesceDims } from '@kiln/core';
import { arrayOf } from '../buffer.js';
import { specialize } from './specialize.js';
import { elementOffsets, forEachRow } from './strided.js';

interface Fold {
  init: number;
  step: (acc: number, v: number) => number;
}

const FOLDS: Record<ReduceOp, Fold> = {
  sum: { init: 0, step: (acc, v) => acc + v },
  prod: { init: 1, step: (acc, v) => acc * v },
  // max/min propagate NaN, as PyTorch does.
  max: { init: Number.NEGATIVE_INFINITY, step: (acc, v) => (v > acc || v !== v ? v : acc) },
  min: { init: Number.POSITIVE_INFINITY, step: (acc, v) => (v < acc || v !== v ? v : acc) },
  any: { init: 0, step: (acc, v) => (acc || v ? 1 : 0) },
  all: { init: 1, step: (acc, v) => (acc && v ? 1 : 0) },
};

/** Splits `x` into kept dims (aligned with the keepdim-shaped `out`) and reduced dims. */
function splitDims(x: KernelTensor, dims: readonly number[]) {
  const keptShape: number[] = [];
  const keptStrides: number[] = [];
  const redShape: number[] = [];
  const redStrides: number[] = [];
  x.shape.forEach((s, d) => {
    if (dims.includes(d)) {
      redShape.push(s);
      redStrides.push(x.strides[d]);
    } else {
      keptShape.push(s);
      keptStrides.push(x.strides[d]);
    }
  });
  return { keptShape, keptStrides, redShape, redStrides };
}

/** The fold over one output element's slice: a strided run, or listed offsets. Specialized per op and dtype. */
function makeFold(init: number, step: (acc: number, v: number) => number) {
  return (
    xa: ArrayLike<number>,
    xo: number,
    n: number,
    stride: number,
    rel: ArrayLike<number> | null,
  ): number => {
    let acc = init;
    if (rel !== null) {
      for (let k = 0; k < rel.length; k++) acc = step(acc, xa[xo + rel[k]]);
    } else if (stride === 1) {
      for (let k = 0; k < n; k++) acc = step(acc, xa[xo + k]);
    } else {
      for (let k = 0, i = xo; k < n; k++, i += stride) acc = step(acc, xa[i]);
    }
    return acc;
  };
}

export function reduce(op: ReduceOp, x: KernelTensor, dims: readonly number[], out: KernelTensor): void {
  const xa = arrayOf(x.buffer);
  const oa = arrayOf(out.buffer);
  const { init, step } = FOLDS[op];
  const fold = specialize(`reduce:${op}:${x.dtype}`, makeFold, init, step);
  const { keptShape, keptStrides, redShape, redStrides } = splitDims(x, dims);
  const outStrides = out.strides.filter((_, d) => !dims.includes(d));
  // The slice layout is the same for every output element: coalesce it once. A slice that is one
  // strided run loops directly; otherwise its element offsets are listed once and reused.
  const slice = coalesceDims(redShape, [{ strides: redStrides }]);
  const single = slice.shape.length <= 1;
  const runLength = slice.shape.length === 0 ? (redShape.every((d) => d === 1) ? 1 : 0) : slice.shape[0];
  const runStride = slice.shape.length === 0 ? 0 : slice.strides[0][0];
  const rel = single ? null : elementOffsets(redShape, { strides: redStrides, offset: 0 });
  forEachRow(
    keptShape,
    [
      { strides: keptStrides, offset: x.offset },
      { strides: outStrides, offset: out.offset },
    ],
    (off, n, s) => {
      for (let e = 0, xo = off[0], oo = off[1]; e < n; e++, xo += s[0], oo += s[1]) {
        oa[oo] = fold(xa, xo, runLength, runStride, rel);
      }
    },
  );
}

export function argReduce(op: ArgReduceOp, x: KernelTensor, dim: number, out: KernelTensor): void {
  const xa = arrayOf(x.buffer);
  const oa = arrayOf(out.buffer);
  const dims = x.shape.length === 0 ? [] : [dim];
  const { keptShape, keptStrides } = splitDims(x, dims);
  const n = x.shape.length === 0 ? 1 : x.shape[dim];
  const st = x.shape.length === 0 ? 0 : x.strides[dim];
  const outStrides = out.strides.filter((_, d) => !dims.includes(d));
  const better = op === 'argmax' ? (v: number, b: number) => v > b : (v: number, b: number) => v < b;
  forEachRow(
    keptShape,
    [
      { strides: keptStrides, offset: x.offset },
      { strides: outStrides, offset: out.offset },
    ],
    (off, m, s) => {
      let xo = off[0];
      let oo = off[1];
      for (let e = 0; e < m; e++, xo += s[0], oo += s[1]) {
        let best = xa[xo];
        let bestI = 0;
        // The first NaN wins (PyTorch treats NaN as the extreme), else the first extreme value.
        if (best === best) {
          for (let k = 1, i = xo + st; k < n; k++, i += st) {
            const v = xa[i];
            if (v !== v) {
              bestI = k;
              break;
            }
            if (better(v, best)) {
              best = v;
              bestI = k;
            }
          }
        }
        oa[oo] = bestI;
      }
    },
  );
}

export function cumsum(x: KernelTensor, dim: number, out: KernelTensor): void {
  const xa = arrayOf(x.buffer);
  const oa = arrayOf(out.buffer);
  if (x.shape.length === 0) {
    oa[out.offset] = xa[x.offset];
    return;
  }
  const { keptShape, keptStrides } = splitDims(x, [dim]);
  const outKept = out.strides.filter((_, d) => d !== dim);
  const n = x.shape[dim];
  const sx = x.strides[dim];
  const so = out.strides[dim];
  forEachRow(
    keptShape,
    [
      { strides: keptStrides, offset: x.offset },
      { strides: outKept, offset: out.offset },
    ],
    (off, m, s) => {
      let xo = off[0];
      let oo = off[1];
      for (let e = 0; e < m; e++, xo += s[0], oo += s[1]) {
        let acc = 0;
        for (let k = 0, i = xo, j = oo; k < n; k++, i += sx, j += so) {
          acc += xa[i];
          oa[j] = acc;
        }
      }
    },
  );
}
