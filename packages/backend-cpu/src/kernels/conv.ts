// conv2d forward and backward as im2col + GEMM, per image and group:
//   forward          out[o, p]    = W[o, k] · cols[k, p]
//   backward input   dcols[k, p]  = W[o, k]ᵀ · gOut[o, p], then col2im scatter-adds dcols into gIn
//   backward weight  gW[o, k]    += gOut[o, p] · cols[k, p]ᵀ, summed over the batch
// with k = (c, ki, kj) running over one group's input channels and the kernel window, and
// p = (oh, ow) over output positions. Output positions come from the out/gradOut shape that core
// allocated; input reads outside [0, H) x [0, W) are the zero padding.
//
// The GEMM multiplies "panels": an operand is packed so that four rows (or columns) sit side by
// side for every step of the shared dimension, and a 4x4 block of the result is kept in sixteen
// local accumulators. Packing costs O(rows * K); the product costs O(M * N * K). Everything
// accumulates in float64 and is stored once in the output's dtype.
import type { Conv2dParams, KernelTensor } from '@kiln/core';
import { arrayOf } from '../buffer.js';
import { forEachRow } from './strided.js';

/** Rounds up to the 4-lane panel width. */
const pad4 = (n: number): number => (n + 3) & ~3;

/** Copies a strided tensor into `dst` as contiguous row-major float64 values. */
function copyToFloat64(t: KernelTensor, dst: Float64Array): Float64Array {
  const src = arrayOf(t.buffer);
  let q = 0;
  forEachRow(t.shape, [t], (off, n, inner) => {
    const s = inner[0];
    for (let e = 0, i = off[0]; e < n; e++, i += s) dst[q++] = src[i];
  });
  return dst;
}

/** The whole tensor as float64 (used for weights, which are small). */
function toFloat64(t: KernelTensor): Float64Array {
  let total = 1;
  for (const s of t.shape) total *= s;
  return copyToFloat64(t, new Float64Array(total));
}

/** Image `img` of a [N, ...] tensor, copied into `dst` as float64 (one image at a time bounds memory). */
function imageToFloat64(t: KernelTensor, img: number, dst: Float64Array): Float64Array {
  const view = {
    ...t,
    shape: t.shape.slice(1),
    strides: t.strides.slice(1),
    offset: t.offset + img * t.strides[0],
  };
  return copyToFloat64(view, dst);
}

/**
 * Packs a `rows` x `inner` matrix (element (r, i) at src[off + r*rowStride + i*innerStride]) into
 * 4-row panels: dst[(r >> 2) * inner * 4 + i * 4 + (r & 3)]. Lanes past `rows` stay as they are
 * (zero in a fresh array).
 */
function packPanels(
  src: Float64Array,
  off: number,
  rows: number,
  inner: number,
  rowStride: number,
  innerStride: number,
  dst: Float64Array,
): void {
  for (let r = 0; r < rows; r++) {
    let q = (r >> 2) * inner * 4 + (r & 3);
    let s = off + r * rowStride;
    for (let i = 0; i < inner; i++, q += 4, s += innerStride) dst[q] = src[s];
  }
}

/**
 * c[i * ldc + j] += Σ_p A(i, p) · B(j, p) for i < 4*mBlocks, j < 4*nBlocks, where A and B are
 * 4-lane panels over a shared dimension of length `k` (see packPanels).
 */
// biome-ignore format: the 4x4 register tile reads best as a grid.
function gemmPanels(a: Float64Array, mBlocks: number, b: Float64Array, nBlocks: number, k: number, c: Float64Array, ldc: number): void {
  const k4 = k * 4;
  for (let ib = 0; ib < mBlocks; ib++) {
    const aBase = ib * k4;
    for (let jb = 0; jb < nBlocks; jb++) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let ap = aBase;
      let bp = jb * k4;
      for (let p = 0; p < k; p++, ap += 4, bp += 4) {
        const a0 = a[ap], a1 = a[ap + 1], a2 = a[ap + 2], a3 = a[ap + 3];
        const b0 = b[bp], b1 = b[bp + 1], b2 = b[bp + 2], b3 = b[bp + 3];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
      }
      let q = ib * 4 * ldc + jb * 4;
      c[q] += c00; c[q + 1] += c01; c[q + 2] += c02; c[q + 3] += c03; q += ldc;
      c[q] += c10; c[q + 1] += c11; c[q + 2] += c12; c[q + 3] += c13; q += ldc;
      c[q] += c20; c[q + 1] += c21; c[q + 2] += c22; c[q + 3] += c23; q += ldc;
      c[q] += c30; c[q + 1] += c31; c[q + 2] += c32; c[q + 3] += c33;
    }
  }
}

/** Sizes of one conv2d problem, read from the operand shapes. */
interface ConvGeometry {
  n: number;
  /** input channels, height, width */
  c: number;
  h: number;
  w: number;
  /** output channels and positions */
  o: number;
  oh: number;
  ow: number;
  kh: number;
  kw: number;
  groups: number;
  /** per group: input channels, output channels, k = cg*kh*kw, p = oh*ow */
  cg: number;
  og: number;
  k: number;
  p: number;
}

function geometry(
  input: KernelTensor,
  weight: KernelTensor,
  output: KernelTensor,
  groups: number,
): ConvGeometry {
  const [n, c, h, w] = input.shape;
  const [o, cg, kh, kw] = weight.shape;
  const [, , oh, ow] = output.shape;
  return { n, c, h, w, o, oh, ow, kh, kw, groups, cg, og: o / groups, k: cg * kh * kw, p: oh * ow };
}

/**
 * Where im2col puts patch row k and output position q: rowBase(k) + posOffset[q]. With
 * `overPositions` the panels run over output positions with k as the shared dimension (the B
 * operand of the forward product); otherwise over k with positions shared (the B operand of the
 * weight gradient).
 */
interface ColumnLayout {
  overPositions: boolean;
  posOffset: Int32Array;
}

function columnLayout(g: ConvGeometry, overPositions: boolean): ColumnLayout {
  const posOffset = new Int32Array(g.p);
  for (let q = 0; q < g.p; q++) posOffset[q] = overPositions ? (q >> 2) * g.k * 4 + (q & 3) : q * 4;
  return { overPositions, posOffset };
}

/** Writes image `img`'s patches for input channels [c0, c0 + cg) into panels laid out as `layout`. */
function im2col(
  x: KernelTensor,
  img: number,
  c0: number,
  g: ConvGeometry,
  p: Conv2dParams,
  layout: ColumnLayout,
  dst: Float64Array,
): void {
  const xa = arrayOf(x.buffer);
  const [sn, sc, sh, sw] = x.strides;
  const [strH, strW] = p.stride;
  const [padH, padW] = p.padding;
  const [dilH, dilW] = p.dilation;
  const { oh: outH, ow: outW, kh, kw, h, w } = g;
  const { overPositions, posOffset } = layout;
  let kIdx = 0;
  for (let c = 0; c < g.cg; c++) {
    const xc = x.offset + img * sn + (c0 + c) * sc;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, kIdx++) {
        const rowBase = overPositions ? kIdx * 4 : (kIdx >> 2) * g.p * 4 + (kIdx & 3);
        // Output columns whose input column lies inside [0, w): owLo <= ow < owHi.
        const shiftW = kj * dilW - padW;
        const owLo = Math.min(outW, Math.max(0, Math.ceil(-shiftW / strW)));
        const owHi = Math.max(owLo, Math.min(outW, Math.ceil((w - shiftW) / strW)));
        let q = 0;
        for (let y = 0; y < outH; y++) {
          const ih = y * strH - padH + ki * dilH;
          if (ih < 0 || ih >= h) {
            for (let ox = 0; ox < outW; ox++, q++) dst[rowBase + posOffset[q]] = 0;
            continue;
          }
          const rowIn = xc + ih * sh + shiftW * sw;
          for (let ox = 0; ox < owLo; ox++, q++) dst[rowBase + posOffset[q]] = 0;
          for (let ox = owLo; ox < owHi; ox++, q++) dst[rowBase + posOffset[q]] = xa[rowIn + ox * strW * sw];
          for (let ox = owHi; ox < outW; ox++, q++) dst[rowBase + posOffset[q]] = 0;
        }
      }
    }
  }
}

/** Adds dcols (row-major [k][ldc]) into the image `img64` ([cg][h][w]): the adjoint of im2col. */
function col2im(
  dcols: Float64Array,
  ldc: number,
  g: ConvGeometry,
  p: Conv2dParams,
  img64: Float64Array,
): void {
  const [strH, strW] = p.stride;
  const [padH, padW] = p.padding;
  const [dilH, dilW] = p.dilation;
  const { oh: outH, ow: outW, kh, kw, h, w } = g;
  let kIdx = 0;
  for (let c = 0; c < g.cg; c++) {
    const plane = c * h * w;
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++, kIdx++) {
        const shiftW = kj * dilW - padW;
        const owLo = Math.min(outW, Math.max(0, Math.ceil(-shiftW / strW)));
        const owHi = Math.max(owLo, Math.min(outW, Math.ceil((w - shiftW) / strW)));
        const row = kIdx * ldc;
        for (let y = 0; y < outH; y++) {
          const ih = y * strH - padH + ki * dilH;
          if (ih < 0 || ih >= h) continue;
          const dstRow = plane + ih * w + shiftW;
          const srcRow = row + y * outW;
          for (let ox = owLo; ox < owHi; ox++) img64[dstRow + ox * strW] += dcols[srcRow + ox];
        }
      }
    }
  }
}

/** Packs weight rows [g*og, (g+1)*og) of the [o][k] matrix, as rows (forward) or transposed. */
function packWeights(w64: Float64Array, g: ConvGeometry, transposed: boolean): Float64Array[] {
  const packs: Float64Array[] = [];
  for (let gi = 0; gi < g.groups; gi++) {
    const off = gi * g.og * g.k;
    if (transposed) {
      const a = new Float64Array(pad4(g.k) * g.og);
      packPanels(w64, off, g.k, g.og, 1, g.k, a);
      packs.push(a);
    } else {
      const a = new Float64Array(pad4(g.og) * g.k);
      packPanels(w64, off, g.og, g.k, g.k, 1, a);
      packs.push(a);
    }
  }
  return packs;
}

export function conv2d(x: KernelTensor, weight: KernelTensor, out: KernelTensor, p: Conv2dParams): void {
  const g = geometry(x, weight, out, p.groups);
  const oa = arrayOf(out.buffer);
  const [son, soc, soh, sow] = out.strides;
  const weights = packWeights(toFloat64(weight), g, false);
  const ldc = pad4(g.p);
  const cols = new Float64Array(ldc * g.k);
  const layout = columnLayout(g, true);
  const c = new Float64Array(pad4(g.og) * ldc);
  for (let img = 0; img < g.n; img++) {
    for (let gi = 0; gi < g.groups; gi++) {
      im2col(x, img, gi * g.cg, g, p, layout, cols);
      c.fill(0);
      gemmPanels(weights[gi], pad4(g.og) >> 2, cols, ldc >> 2, g.k, c, ldc);
      for (let o = 0; o < g.og; o++) {
        const base = out.offset + img * son + (gi * g.og + o) * soc;
        let q = o * ldc;
        for (let y = 0; y < g.oh; y++) {
          const row = base + y * soh;
          for (let ox = 0; ox < g.ow; ox++, q++) oa[row + ox * sow] = c[q];
        }
      }
    }
  }
}

export function conv2dBackwardInput(
  gradOut: KernelTensor,
  weight: KernelTensor,
  gradIn: KernelTensor,
  p: Conv2dParams,
): void {
  const g = geometry(gradIn, weight, gradOut, p.groups);
  const ga = arrayOf(gradIn.buffer);
  const [sn, sc, sh, sw] = gradIn.strides;
  const weightsT = packWeights(toFloat64(weight), g, true);
  const g64 = new Float64Array(g.o * g.p);
  const ldc = pad4(g.p);
  const gPanels = new Float64Array(ldc * g.og);
  const dcols = new Float64Array(pad4(g.k) * ldc);
  const img64 = new Float64Array(g.cg * g.h * g.w);
  for (let img = 0; img < g.n; img++) {
    imageToFloat64(gradOut, img, g64);
    for (let gi = 0; gi < g.groups; gi++) {
      // gOut[o, p] as panels over positions, o shared.
      packPanels(g64, gi * g.og * g.p, g.p, g.og, 1, g.p, gPanels);
      dcols.fill(0);
      gemmPanels(weightsT[gi], pad4(g.k) >> 2, gPanels, ldc >> 2, g.og, dcols, ldc);
      img64.fill(0);
      col2im(dcols, ldc, g, p, img64);
      let q = 0;
      for (let ch = 0; ch < g.cg; ch++) {
        const base = gradIn.offset + img * sn + (gi * g.cg + ch) * sc;
        for (let y = 0; y < g.h; y++) {
          const row = base + y * sh;
          for (let ox = 0; ox < g.w; ox++, q++) ga[row + ox * sw] = img64[q];
        }
      }
    }
  }
}

export function conv2dBackwardWeight(
  x: KernelTensor,
  gradOut: KernelTensor,
  gradWeight: KernelTensor,
  p: Conv2dParams,
): void {
  const g = geometry(x, gradWeight, gradOut, p.groups);
  const wa = arrayOf(gradWeight.buffer);
  const [so, sc, sh, sw] = gradWeight.strides;
  const g64 = new Float64Array(g.o * g.p);
  const ldc = pad4(g.k);
  const gPanels = new Float64Array(pad4(g.og) * g.p);
  const cols = new Float64Array(ldc * g.p);
  const layout = columnLayout(g, false);
  const accs = Array.from({ length: g.groups }, () => new Float64Array(pad4(g.og) * ldc));
  for (let img = 0; img < g.n; img++) {
    imageToFloat64(gradOut, img, g64);
    for (let gi = 0; gi < g.groups; gi++) {
      // gOut[o, p] as panels over o, positions shared; cols as panels over k.
      packPanels(g64, gi * g.og * g.p, g.og, g.p, g.p, 1, gPanels);
      im2col(x, img, gi * g.cg, g, p, layout, cols);
      gemmPanels(gPanels, pad4(g.og) >> 2, cols, ldc >> 2, g.p, accs[gi], ldc);
    }
  }
  accs.forEach((acc, gi) => {
    for (let o = 0; o < g.og; o++) {
      let q = o * ldc;
      for (let ch = 0; ch < g.cg; ch++) {
        const base = gradWeight.offset + (gi * g.og + o) * so + ch * sc;
        for (let ki = 0; ki < g.kh; ki++) {
          for (let kj = 0; kj < g.kw; kj++, q++) wa[base + ki * sh + kj * sw] = acc[q];
        }
      }
    }
  });
}
