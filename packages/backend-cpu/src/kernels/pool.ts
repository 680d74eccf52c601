// 2-D max and average pooling, forward and backward, over strided [N, C, H, W] operands. Windows
// follow PyTorch's CPU kernels (aten/src/ATen/native/cpu/{Max,Avg}PoolKernel.cpp): output
// positions come from the out/gradOut shape (so ceil mode is core's choice of output size), a
// window starts at o*stride - padding, and avg pooling's countIncludePad divisor counts window
// taps inside [-padding, size + padding), i.e. ceil-mode windows are cut at the right padding.
import type { KernelTensor, Pool2dParams } from '@kiln/core';
import { arrayOf } from '../buffer.js';

/** One axis of a window: the taps in bounds, [first, end) stepping by dilation, and its padded size. */
interface Taps {
  first: number;
  end: number;
  /** taps inside [-padding, size + padding): countIncludePad's divisor along this axis */
  padded: number;
}

function taps(
  o: number,
  stride: number,
  padding: number,
  kernel: number,
  dilation: number,
  size: number,
): Taps {
  const start = o * stride - padding;
  const stop = start + (kernel - 1) * dilation + 1;
  const paddedEnd = Math.min(stop, size + padding);
  const padded = Math.ceil((paddedEnd - start) / dilation);
  let first = start;
  while (first < 0) first += dilation;
  return { first, end: Math.min(stop, size), padded };
}

/** The taps of every output row and column of one [H, W] plane. */
function windows(
  p: Pool2dParams,
  inShape: readonly number[],
  outShape: readonly number[],
): { rows: Taps[]; cols: Taps[] } {
  const [, , h, w] = inShape;
  const [, , oh, ow] = outShape;
  return {
    rows: Array.from({ length: oh }, (_, y) =>
      taps(y, p.stride[0], p.padding[0], p.kernelSize[0], p.dilation[0], h),
    ),
    cols: Array.from({ length: ow }, (_, z) =>
      taps(z, p.stride[1], p.padding[1], p.kernelSize[1], p.dilation[1], w),
    ),
  };
}

/** Calls `plane(bases)` once per (n, c) with the offset of that [H, W] plane in each operand. */
function forEachPlane(operands: readonly KernelTensor[], plane: (bases: number[]) => void): void {
  const [n, c] = operands[0].shape;
  const bases = operands.map(() => 0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) {
      operands.forEach((t, k) => {
        bases[k] = t.offset + i * t.strides[0] + j * t.strides[1];
      });
      plane(bases);
    }
  }
}

export function maxPool2d(x: KernelTensor, out: KernelTensor, indices: KernelTensor, p: Pool2dParams): void {
  const xa = arrayOf(x.buffer);
  const oa = arrayOf(out.buffer);
  const ia = arrayOf(indices.buffer);
  const w = x.shape[3];
  const [, , oh, ow] = out.shape;
  const [sh, sw] = [x.strides[2], x.strides[3]];
  const [soh, sow] = [out.strides[2], out.strides[3]];
  const [sih, siw] = [indices.strides[2], indices.strides[3]];
  const [dh, dw] = p.dilation;
  const { rows, cols } = windows(p, x.shape, out.shape);
  forEachPlane([x, out, indices], ([xBase, oBase, iBase]) => {
    for (let y = 0; y < oh; y++) {
      const r = rows[y];
      for (let z = 0; z < ow; z++) {
        const s = cols[z];
        // PyTorch: start from -inf at the first in-bounds tap; NaN wins and propagates.
        let best = Number.NEGATIVE_INFINITY;
        let bestIndex = r.first * w + s.first;
        for (let ih = r.first; ih < r.end; ih += dh) {
          for (let iw = s.first; iw < s.end; iw += dw) {
            const v = xa[xBase + ih * sh + iw * sw];
            if (v > best || Number.isNaN(v)) {
              best = v;
              bestIndex = ih * w + iw;
            }
          }
        }
        oa[oBase + y * soh + z * sow] = best;
        ia[iBase + y * sih + z * siw] = bestIndex;
      }
    }
  });
}

/** Writes a float64 [H, W] plane into a strided plane of `dst`. */
function storePlane(src: Float64Array, dst: KernelTensor, base: number): void {
  const da = arrayOf(dst.buffer);
  const [, , h, w] = dst.shape;
  const [sh, sw] = [dst.strides[2], dst.strides[3]];
  let q = 0;
  for (let y = 0; y < h; y++) for (let z = 0; z < w; z++, q++) da[base + y * sh + z * sw] = src[q];
}

export function maxPool2dBackward(
  gradOut: KernelTensor,
  indices: KernelTensor,
  gradIn: KernelTensor,
  _p: Pool2dParams,
): void {
  const ga = arrayOf(gradOut.buffer);
  const ia = arrayOf(indices.buffer);
  const [, , h, w] = gradIn.shape;
  const [, , oh, ow] = gradOut.shape;
  const [sgh, sgw] = [gradOut.strides[2], gradOut.strides[3]];
  const [sih, siw] = [indices.strides[2], indices.strides[3]];
  const acc = new Float64Array(h * w);
  forEachPlane([gradIn, gradOut, indices], ([inBase, gBase, iBase]) => {
    acc.fill(0);
    for (let y = 0; y < oh; y++) {
      for (let z = 0; z < ow; z++) {
        // A window wholly in the padding has no argmax inside the plane (and no input to credit).
        const at = ia[iBase + y * sih + z * siw];
        if (at >= 0 && at < acc.length) acc[at] += ga[gBase + y * sgh + z * sgw];
      }
    }
    storePlane(acc, gradIn, inBase);
  });
}

/** The divisor of each output position: full padded window, or only its in-bounds taps. */
function divisor(r: Taps, s: Taps, dh: number, dw: number, countIncludePad: boolean): number {
  if (countIncludePad) return r.padded * s.padded;
  return Math.ceil((r.end - r.first) / dh) * Math.ceil((s.end - s.first) / dw);
}

export function avgPool2d(x: KernelTensor, out: KernelTensor, p: Pool2dParams): void {
  const xa = arrayOf(x.buffer);
  const oa = arrayOf(out.buffer);
  const [, , oh, ow] = out.shape;
  const [sh, sw] = [x.strides[2], x.strides[3]];
  const [soh, sow] = [out.strides[2], out.strides[3]];
  const [dh, dw] = p.dilation;
  const { rows, cols } = windows(p, x.shape, out.shape);
  forEachPlane([x, out], ([xBase, oBase]) => {
    for (let y = 0; y < oh; y++) {
      const r = rows[y];
      for (let z = 0; z < ow; z++) {
        const s = cols[z];
        // A window wholly in the padding averages nothing: PyTorch writes 0.
        if (r.first >= r.end || s.first >= s.end) {
          oa[oBase + y * soh + z * sow] = 0;
          continue;
        }
        let sum = 0;
        for (let ih = r.first; ih < r.end; ih += dh) {
          for (let iw = s.first; iw < s.end; iw += dw) sum += xa[xBase + ih * sh + iw * sw];
        }
        oa[oBase + y * soh + z * sow] = sum / divisor(r, s, dh, dw, p.countIncludePad);
      }
    }
  });
}

export function avgPool2dBackward(gradOut: KernelTensor, gradIn: KernelTensor, p: Pool2dParams): void {
  const ga = arrayOf(gradOut.buffer);
  const [, , h, w] = gradIn.shape;
  const [, , oh, ow] = gradOut.shape;
  const [sgh, sgw] = [gradOut.strides[2], gradOut.strides[3]];
  const [dh, dw] = p.dilation;
  const { rows, cols } = windows(p, gradIn.shape, gradOut.shape);
  const acc = new Float64Array(h * w);
  forEachPlane([gradIn, gradOut], ([inBase, gBase]) => {
    acc.fill(0);
    for (let y = 0; y < oh; y++) {
      const r = rows[y];
      for (let z = 0; z < ow; z++) {
        const s = cols[z];
        if (r.first >= r.end || s.first >= s.end) continue;
        const v = ga[gBase + y * sgh + z * sgw] / divisor(r, s, dh, dw, p.countIncludePad);
        for (let ih = r.first; ih < r.end; ih += dh) {
          for (let iw = s.first; iw < s.end; iw += dw) acc[ih * w + iw] += v;
        }
      }
    }
    storePlane(acc, gradIn, inBase);
  });
}
