// Batched matmul in TypeScript: [B, M, K] x [B, K, N]. B is packed once per batch into strips of
// 4 columns, each strip contiguous over k and zero-padded at the right edge (transposed or
// broadcast operands cost one copy, and the inner loop streams memory); the output is computed in
// 4x4 register tiles, 16 accumulators fed by 4 + 4 loads per k.
// The kernel is specialized per dtype (specialize.ts) so its typed-array accesses stay monomorphic.
import type { KernelTensor } from '@kiln/core';
import { arrayOf } from '../buffer.js';
import { specialize } from './specialize.js';

type Arr = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

function makeMatmul() {
  return (
    aa: Arr,
    aOff: number,
    sab: number,
    sam: number,
    sak: number,
    ba: Arr,
    bOff: number,
    sbb: number,
    sbk: number,
    sbn: number,
    oa: Arr,
    oOff: number,
    sob: number,
    som: number,
    son: number,
    batch: number,
    m: number,
    k: number,
    n: number,
    panel: Float64Array,
  ): void => {
    let packedFrom = -1;
    for (let bi = 0; bi < batch; bi++) {
      const bBase = bOff + bi * sbb;
      // A broadcast B (batch stride 0) is packed once.
      if (packedFrom !== bBase) {
        // panel[(strip * k + p) * 4 + c] = B[p, strip * 4 + c]
        for (let j = 0; j < n; j++) {
          const strip = (j >> 2) * k * 4 + (j & 3);
          const from = bBase + j * sbn;
          for (let p = 0; p < k; p++) panel[strip + p * 4] = ba[from + p * sbk];
        }
        packedFrom = bBase;
      }
      const aBase = aOff + bi * sab;
      const oBase = oOff + bi * sob;
      for (let i = 0; i < m; i += 4) {
        const r1 = i + 1 < m;
        const r2 = i + 2 < m;
        const r3 = i + 3 < m;
        const a0 = aBase + i * sam;
        const a1 = r1 ? a0 + sam : a0;
        const a2 = r2 ? a0 + 2 * sam : a0;
        const a3 = r3 ? a0 + 3 * sam : a0;
        for (let j = 0; j < n; j += 4) {
          const w = Math.min(4, n - j);
          let c00 = 0,
            c01 = 0,
            c02 = 0,
            c03 = 0;
          let c10 = 0,
            c11 = 0,
            c12 = 0,
            c13 = 0;
          let c20 = 0,
            c21 = 0,
            c22 = 0,
            c23 = 0;
          let c30 = 0,
            c31 = 0,
            c32 = 0,
            c33 = 0;
          for (let p = 0, pb = (j >> 2) * k * 4; p < k; p++, pb += 4) {
            const ak = p * sak;
            const x0 = aa[a0 + ak];
            const x1 = aa[a1 + ak];
            const x2 = aa[a2 + ak];
            const x3 = aa[a3 + ak];
            const y0 = panel[pb];
            const y1 = panel[pb + 1];
            const y2 = panel[pb + 2];
            const y3 = panel[pb + 3];
            c00 += x0 * y0;
            c01 += x0 * y1;
            c02 += x0 * y2;
            c03 += x0 * y3;
            c10 += x1 * y0;
            c11 += x1 * y1;
            c12 += x1 * y2;
            c13 += x1 * y3;
            c20 += x2 * y0;
            c21 += x2 * y1;
            c22 += x2 * y2;
            c23 += x2 * y3;
            c30 += x3 * y0;
            c31 += x3 * y1;
            c32 += x3 * y2;
            c33 += x3 * y3;
          }
          const o0 = oBase + i * som + j * son;
          oa[o0] = c00;
          if (w > 1) oa[o0 + son] = c01;
          if (w > 2) oa[o0 + 2 * son] = c02;
          if (w > 3) oa[o0 + 3 * son] = c03;
          if (r1) {
            const o1 = o0 + som;
            oa[o1] = c10;
            if (w > 1) oa[o1 + son] = c11;
            if (w > 2) oa[o1 + 2 * son] = c12;
            if (w > 3) oa[o1 + 3 * son] = c13;
          }
          if (r2) {
            const o2 = o0 + 2 * som;
            oa[o2] = c20;
            if (w > 1) oa[o2 + son] = c21;
            if (w > 2) oa[o2 + 2 * son] = c22;
            if (w > 3) oa[o2 + 3 * son] = c23;
          }
          if (r3) {
            const o3 = o0 + 3 * som;
            oa[o3] = c30;
            if (w > 1) oa[o3 + son] = c31;
            if (w > 2) oa[o3 + 2 * son] = c32;
            if (w > 3) oa[o3 + 3 * son] = c33;
          }
        }
      }
    }
  };
}

export function matmul(a: KernelTensor, b: KernelTensor, out: KernelTensor): void {
  const [batch, m, k] = a.shape;
  const n = b.shape[2];
  const kernel = specialize(`matmul:${a.dtype}`, makeMatmul);
  kernel(
    arrayOf(a.buffer),
    a.offset,
    a.strides[0],
    a.strides[1],
    a.strides[2],
    arrayOf(b.buffer),
    b.offset,
    b.strides[0],
    b.strides[1],
    b.strides[2],
    arrayOf(out.buffer),
    out.offset,
    out.strides[0],
    out.strides[1],
    out.strides[2],
    batch,
    m,
    k,
    n,
    // Zero-filled, so the padding columns of the last strip contribute nothing.
    new Float64Array(Math.ceil(n / 4) * 4 * k),
  );
}
