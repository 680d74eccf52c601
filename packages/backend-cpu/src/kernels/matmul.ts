// Batched matmul in TypeScript: [B, M, K] x [B, K, N]. B is packed once per batch into a
// contiguous row-major panel (so transposed or broadcast operands cost one copy, not strided
// inner loops), then four rows of the output are computed together so each loaded row of B
// feeds four multiply-adds.
import type { KernelTensor } from '@kiln/core';
import { arrayOf, type CpuArray } from '../buffer.js';

export function matmul(a: KernelTensor, b: KernelTensor, out: KernelTensor): void {
  const [batch, m, k] = a.shape;
  const n = b.shape[2];
  const aa = arrayOf(a.buffer);
  const ba = arrayOf(b.buffer);
  const oa = arrayOf(out.buffer);
  const [sab, sam, sak] = a.strides;
  const [sbb, sbk, sbn] = b.strides;
  const [sob, som, son] = out.strides;
  const panel: Float64Array | Float32Array =
    a.dtype === 'float64' ? new Float64Array(k * n) : new Float32Array(k * n);
  const acc = new Float64Array(4 * n);
  let packedFrom = -1;
  for (let bi = 0; bi < batch; bi++) {
    // A broadcast B (batch stride 0) is packed once.
    const bBase = b.offset + bi * sbb;
    if (packedFrom !== bBase || sbb !== 0) {
      packPanel(ba, bBase, sbk, sbn, k, n, panel);
      packedFrom = bBase;
    }
    const aBase = a.offset + bi * sab;
    const oBase = out.offset + bi * sob;
    for (let i = 0; i < m; i += 4) {
      const rows = Math.min(4, m - i);
      acc.fill(0, 0, rows * n);
      const a0 = aBase + i * sam;
      for (let p = 0; p < k; p++) {
        const ap = a0 + p * sak;
        const v0 = aa[ap];
        const v1 = rows > 1 ? aa[ap + sam] : 0;
        const v2 = rows > 2 ? aa[ap + 2 * sam] : 0;
        const v3 = rows > 3 ? aa[ap + 3 * sam] : 0;
        const row = p * n;
        for (let j = 0; j < n; j++) {
          const bv = panel[row + j];
          acc[j] += v0 * bv;
          acc[n + j] += v1 * bv;
          acc[2 * n + j] += v2 * bv;
          acc[3 * n + j] += v3 * bv;
        }
      }
      for (let r = 0; r < rows; r++) {
        const o = oBase + (i + r) * som;
        const src = r * n;
        if (son === 1) for (let j = 0; j < n; j++) oa[o + j] = acc[src + j];
        else for (let j = 0; j < n; j++) oa[o + j * son] = acc[src + j];
      }
    }
  }
}

function packPanel(
  src: CpuArray,
  base: number,
  sk: number,
  sn: number,
  k: number,
  n: number,
  panel: Float32Array | Float64Array,
): void {
  for (let p = 0; p < k; p++) {
    const from = base + p * sk;
    const to = p * n;
    if (sn === 1) for (let j = 0; j < n; j++) panel[to + j] = src[from + j];
    else for (let j = 0; j < n; j++) panel[to + j] = src[from + j * sn];
  }
}
