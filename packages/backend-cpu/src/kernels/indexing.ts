// Index kernels: gather / scatter-add along a dim, index-select / index-add of whole slices, and a
// stable sort along a dim.
import type { KernelTensor } from '@kiln/core';
import { arrayOf } from '../buffer.js';
import { forEachRow } from './strided.js';

/** Indices must lie in [0, size): PyTorch's gather/scatter/index ops reject negative ones too. */
function checkIndex(op: string, i: number, size: number): number {
  if (!(i >= 0 && i < size))
    throw new RangeError(`${op}: index ${i} is out of bounds for dimension with size ${size}`);
  return i;
}

/** Iterates over `index`'s elements with the matching offsets into `other` (dim `dim` zeroed) and `out`. */
function alongIndex(
  index: KernelTensor,
  dim: number,
  other: KernelTensor,
  out: KernelTensor | null,
  visit: (idx: number, otherBase: number, outOffset: number) => void,
): void {
  const ia = arrayOf(index.buffer);
  const otherStrides = other.strides.map((s, d) => (d === dim ? 0 : s));
  const ops = [index, { strides: otherStrides, offset: other.offset }, out ?? index];
  forEachRow(index.shape, ops, (off, n, s) => {
    let ii = off[0];
    let io = off[1];
    let oo = off[2];
    for (let e = 0; e < n; e++, ii += s[0], io += s[1], oo += s[2]) visit(ia[ii], io, oo);
  });
}

export function gather(x: KernelTensor, dim: number, index: KernelTensor, out: KernelTensor): void {
  const xa = arrayOf(x.buffer);
  const oa = arrayOf(out.buffer);
  const size = x.shape.length ? x.shape[dim] : 1;
  const stride = x.shape.length ? x.strides[dim] : 0;
  alongIndex(index, dim, x, out, (i, base, o) => {
    oa[o] = xa[base + checkIndex('gather', i, size) * stride];
  });
}

export function scatterAdd(dst: KernelTensor, dim: number, index: KernelTensor, src: KernelTensor): void {
  const da = arrayOf(dst.buffer);
  const sa = arrayOf(src.buffer);
  const size = dst.shape.length ? dst.shape[dim] : 1;
  const stride = dst.shape.length ? dst.strides[dim] : 0;
  // src is read at the index element's own coordinates.
  alongIndex(index, dim, dst, src, (i, base, s) => {
    da[base + checkIndex('scatterAdd', i, size) * stride] += sa[s];
  });
}

/** `t`'s shape and strides without dim `dim`: the layout of one slice along it. */
function sliceShape(t: KernelTensor, dim: number) {
  return {
    shape: t.shape.filter((_, d) => d !== dim),
    strides: t.strides.filter((_, d) => d !== dim),
  };
}

/**
 * For each position r of the 1-D `index`, walks slice `index[r]` of `indexed` along `dim` beside
 * slice r of `other` (same slice shape), handing `row` each innermost strided run of the pair.
 */
function pairIndexedSlices(
  op: string,
  indexed: KernelTensor,
  dim: number,
  index: KernelTensor,
  other: KernelTensor,
  row: (offsets: Int32Array | number[], n: number, strides: readonly number[]) => void,
): void {
  const ia = arrayOf(index.buffer);
  const count = index.shape.length ? index.shape[0] : 1;
  const istride = index.shape.length ? index.strides[0] : 0;
  const a = sliceShape(indexed, dim);
  const b = sliceShape(other, dim);
  for (let r = 0; r < count; r++) {
    const i = checkIndex(op, ia[index.offset + r * istride], indexed.shape[dim]);
    forEachRow(
      a.shape,
      [
        { strides: a.strides, offset: indexed.offset + i * indexed.strides[dim] },
        { strides: b.strides, offset: other.offset + r * other.strides[dim] },
      ],
      row,
    );
  }
}

export function indexSelect(x: KernelTensor, dim: number, index: KernelTensor, out: KernelTensor): void {
  const xa = arrayOf(x.buffer);
  const oa = arrayOf(out.buffer);
  if (x.shape.length === 0) {
    checkIndex('indexSelect', arrayOf(index.buffer)[index.offset], 1);
    oa[out.offset] = xa[x.offset];
    return;
  }
  pairIndexedSlices('indexSelect', x, dim, index, out, (off, n, s) => {
    // Contiguous runs (an embedding lookup's rows) are block copies.
    if (s[0] === 1 && s[1] === 1) oa.set(xa.subarray(off[0], off[0] + n), off[1]);
    else for (let e = 0, a = off[0], b = off[1]; e < n; e++, a += s[0], b += s[1]) oa[b] = xa[a];
  });
}

export function indexAdd(dst: KernelTensor, dim: number, index: KernelTensor, src: KernelTensor): void {
  const da = arrayOf(dst.buffer);
  const sa = arrayOf(src.buffer);
  if (dst.shape.length === 0) {
    const count = index.shape.length ? index.shape[0] : 1;
    for (let r = 0; r < count; r++) da[dst.offset] += sa[src.offset];
    return;
  }
  if (da instanceof Float32Array && sa instanceof Float32Array) {
    pairIndexedSlices('indexAdd', dst, dim, index, src, (off, n, s) =>
      addRunF32(da, off[0], s[0], sa, off[1], s[1], n),
    );
    return;
  }
  pairIndexedSlices('indexAdd', dst, dim, index, src, (off, n, s) => {
    for (let e = 0, a = off[0], b = off[1]; e < n; e++, a += s[0], b += s[1]) da[a] += sa[b];
  });
}

/**
 * dst[a + e * sa] += src[b + e * sb] for float32 arrays only: a loop that never sees another element
 * type stays monomorphic (an embedding's backward adds a whole [tokens, E] gradient through it).
 */
function addRunF32(
  dst: Float32Array,
  a: number,
  strideA: number,
  src: Float32Array,
  b: number,
  strideB: number,
  n: number,
): void {
  for (let e = 0; e < n; e++, a += strideA, b += strideB) dst[a] += src[b];
}

/** Stable sort of each slice along `dim`; NaN sorts as the largest value, as in PyTorch. */
export function sort(
  x: KernelTensor,
  dim: number,
  descending: boolean,
  values: KernelTensor,
  indices: KernelTensor,
): void {
  const xa = arrayOf(x.buffer);
  const va = arrayOf(values.buffer);
  const ia = arrayOf(indices.buffer);
  if (x.shape.length === 0) {
    va[values.offset] = xa[x.offset];
    ia[indices.offset] = 0;
    return;
  }
  const n = x.shape[dim];
  const xs = sliceShape(x, dim);
  const vs = sliceShape(values, dim);
  const is = sliceShape(indices, dim);
  const order = new Array<number>(n);
  const keys = new Float64Array(n);
  const cmp = (p: number, q: number) => {
    const a = keys[p];
    const b = keys[q];
    const an = a !== a;
    const bn = b !== b;
    const c = an || bn ? (an ? (bn ? 0 : 1) : -1) : a < b ? -1 : a > b ? 1 : 0;
    return (descending ? -c : c) || p - q;
  };
  forEachRow(
    xs.shape,
    [
      { strides: xs.strides, offset: x.offset },
      { strides: vs.strides, offset: values.offset },
      { strides: is.strides, offset: indices.offset },
    ],
    (off, m, s) => {
      for (let e = 0, xo = off[0], vo = off[1], io = off[2]; e < m; e++, xo += s[0], vo += s[1], io += s[2]) {
        for (let k = 0; k < n; k++) {
          keys[k] = xa[xo + k * x.strides[dim]];
          order[k] = k;
        }
        order.sort(cmp);
        for (let k = 0; k < n; k++) {
          va[vo + k * values.strides[dim]] = keys[order[k]];
          ia[io + k * indices.strides[dim]] = order[k];
        }
      }
    },
  );
}
