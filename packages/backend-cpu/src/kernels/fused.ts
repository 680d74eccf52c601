// Fused softmax / log-softmax / logsumexp along one dim: one pass for the max, one for the sum,
// one to write, in double precision, never forming exp of an unshifted value.
import type { KernelTensor } from '@kiln/core';
import { arrayOf } from '../buffer.js';
import { forEachRow } from './strided.js';

type Mode = 'softmax' | 'logSoftmax' | 'logsumexp';

function rowsAlong(x: KernelTensor, dim: number, out: KernelTensor, mode: Mode): void {
  const xa = arrayOf(x.buffer);
  const oa = arrayOf(out.buffer);
  const n = x.shape[dim];
  const sx = x.strides[dim];
  const so = out.strides[dim];
  const keptShape = x.shape.filter((_, d) => d !== dim);
  forEachRow(
    keptShape,
    [
      { strides: x.strides.filter((_, d) => d !== dim), offset: x.offset },
      { strides: out.strides.filter((_, d) => d !== dim), offset: out.offset },
    ],
    (off, m, s) => {
      for (let e = 0, xo = off[0], oo = off[1]; e < m; e++, xo += s[0], oo += s[1]) {
        let max = Number.NEGATIVE_INFINITY;
        for (let k = 0, i = xo; k < n; k++, i += sx) if (xa[i] > max || xa[i] !== xa[i]) max = xa[i];
        // An all -inf row: shift by 0 so softmax gives NaN and logsumexp -inf, as PyTorch does.
        const shift = max === Number.NEGATIVE_INFINITY || max === Number.POSITIVE_INFINITY ? 0 : max;
        let sum = 0;
        for (let k = 0, i = xo; k < n; k++, i += sx) sum += Math.exp(xa[i] - shift);
        if (mode === 'logsumexp') {
          oa[oo] = Math.log(sum) + shift;
        } else if (mode === 'softmax') {
          const inv = 1 / sum;
          for (let k = 0, i = xo, o = oo; k < n; k++, i += sx, o += so) oa[o] = Math.exp(xa[i] - shift) * inv;
        } else {
          const lse = Math.log(sum) + shift;
          for (let k = 0, i = xo, o = oo; k < n; k++, i += sx, o += so) oa[o] = xa[i] - lse;
        }
      }
    },
  );
}

export function softmax(x: KernelTensor, dim: number, out: KernelTensor): void {
  rowsAlong(x, dim, out, 'softmax');
}

export function logSoftmax(x: KernelTensor, dim: number, out: KernelTensor): void {
  rowsAlong(x, dim, out, 'logSoftmax');
}

export function logsumexp(x: KernelTensor, dim: number, out: KernelTensor): void {
  rowsAlong(x, dim, out, 'logsumexp');
}
