// Index kernels. gather and index-select: one invocation per output element. scatter-add and
// index-add: one invocation per source element, accumulating with atomics (compare-and-swap on the
// f32 bit pattern; WGSL has no float atomics), so repeated indices add up. sort: a bitonic network
// over each slice padded to a power of two, comparing (key, original index) pairs, which makes it
// equal to a stable sort. An out-of-range index is reported through the runtime's error buffer
// (src/bounds.ts), raised by the next read; the kernel itself writes 0 (gather) or skips it (adds).
import type { KernelTensor } from '@kiln/core';
import { numel } from '@kiln/core';
import { boundsBinding, reportOutOfBounds } from '../bounds.js';
import { type GpuBuffer, type Runtime, runPerElement } from '../runtime.js';
import { binding, entry, FLOAT_PRELUDE, Params, stridedOffsets, type Word, wordOf } from '../wgsl.js';

/** `t`'s strides over `shape`'s dims with `dim` zeroed (a rank-0 `t` broadcasts). */
function baseStrides(t: KernelTensor, shape: readonly number[], dim: number): number[] {
  return shape.map((_, d) => (d === dim || t.shape.length === 0 ? 0 : t.strides[d]));
}

function along(t: KernelTensor, dim: number): { size: number; stride: number } {
  return t.shape.length ? { size: t.shape[dim], stride: t.strides[dim] } : { size: 1, stride: 0 };
}

/** A float or int atomic add into `dst` (declared as an atomic array). */
function atomicAdd(word: Word, at: string, v: string): string {
  if (word === 'i32') return `  atomicAdd(&dst[${at}], ${v});\n`;
  return `  var old_ = atomicLoad(&dst[${at}]);
  loop {
    let r_ = atomicCompareExchangeWeak(&dst[${at}], old_, bitcast<u32>(bitcast<f32>(old_) + ${v}));
    if (r_.exchanged) { break; }
    old_ = r_.old_value;
  }
`;
}

function atomicBinding(index: number, word: Word): string {
  return `@group(0) @binding(${index}) var<storage, read_write> dst: array<atomic<${word === 'f32' ? 'u32' : 'i32'}>>;\n`;
}

export function gather(
  rt: Runtime,
  x: KernelTensor,
  dim: number,
  index: KernelTensor,
  out: KernelTensor,
): void {
  const n = numel(index.shape);
  if (n === 0) return;
  const w = wordOf(x.dtype);
  const p = new Params();
  const N = p.int(n);
  const offsets = stridedOffsets(
    p,
    'i',
    index.shape,
    [index, { strides: baseStrides(x, index.shape, dim), offset: x.offset }, out],
    ['io', 'xo', 'oo'],
  );
  const { size, stride } = along(x, dim);
  const [S, ST] = p.ints([size, stride]);
  const code = `${p.decl()}${binding(1, 'x', w, false)}${binding(2, 'index', 'i32', false)}${binding(3, 'out', w, true)}${boundsBinding(4)}${entry(64)}  if (i >= ${N}) { return; }
${offsets}  var j = index[io];
  if (j < 0 || j >= ${S}) { ${reportOutOfBounds('gather', 'j', S)} out[oo] = ${w}(0); return; }
  out[oo] = x[xo + j * ${ST}];
}
`;
  runPerElement(rt, code, [x, index, out, rt.boundsBuffer()], p, n);
}

export function scatterAdd(
  rt: Runtime,
  dst: KernelTensor,
  dim: number,
  index: KernelTensor,
  src: KernelTensor,
): void {
  const n = numel(index.shape);
  if (n === 0) return;
  const w = wordOf(dst.dtype);
  const p = new Params();
  const N = p.int(n);
  const offsets = stridedOffsets(
    p,
    'i',
    index.shape,
    [index, { strides: baseStrides(dst, index.shape, dim), offset: dst.offset }, src],
    ['io', 'do_', 'so'],
  );
  const { size, stride } = along(dst, dim);
  const [S, ST] = p.ints([size, stride]);
  const code = `${p.decl()}${binding(1, 'index', 'i32', false)}${binding(2, 'src', w, false)}${atomicBinding(3, w)}${boundsBinding(4)}${entry(64)}  if (i >= ${N}) { return; }
${offsets}  var j = index[io];
  if (j < 0 || j >= ${S}) { ${reportOutOfBounds('scatterAdd', 'j', S)} return; }
  let v = src[so];
${atomicAdd(w, `do_ + j * ${ST}`, 'v')}}
`;
  runPerElement(rt, code, [index, src, dst, rt.boundsBuffer()], p, n);
}

/** WGSL decoding linear index `idx` into coordinates c0..c{r-1} of `shape`. */
function coords(p: Params, idx: string, shape: readonly number[]): string {
  const dims = p.ints(shape);
  let code = `  var rem_ = ${idx};\n`;
  for (let d = shape.length - 1; d >= 0; d--) {
    code += d === 0 ? `  let c0 = rem_;\n` : `  let c${d} = rem_ % ${dims[d]}; rem_ = rem_ / ${dims[d]};\n`;
  }
  return code;
}

/** Offset expression of coordinates c* in `t`, with coordinate `dim` replaced by `j`. */
function offsetExpr(p: Params, t: KernelTensor, dim: number, j: string): string {
  const st = p.ints(t.strides);
  return [p.int(t.offset), ...st.map((s, d) => `${d === dim ? j : `c${d}`} * ${s}`)].join(' + ');
}

/** Slices along `dim`: a rank-0 operand is seen as shape [1] with stride 0. */
function atLeast1d(t: KernelTensor): KernelTensor {
  return t.shape.length ? t : { ...t, shape: [1], strides: [0] };
}

export function indexSelect(
  rt: Runtime,
  x: KernelTensor,
  dim: number,
  index: KernelTensor,
  out: KernelTensor,
): void {
  const n = numel(out.shape);
  if (n === 0) return;
  const w = wordOf(x.dtype);
  const xs = atLeast1d(x);
  const os = atLeast1d(out);
  const p = new Params();
  const N = p.int(n);
  const decode = coords(p, 'i', os.shape);
  const { size } = along(xs, dim);
  const [S, IO, IS] = p.ints([size, index.offset, index.shape.length ? index.strides[0] : 0]);
  const outAt = offsetExpr(p, os, -1, '');
  const xAt = offsetExpr(p, xs, dim, 'j');
  const code = `${p.decl()}${binding(1, 'x', w, false)}${binding(2, 'index', 'i32', false)}${binding(3, 'out', w, true)}${boundsBinding(4)}${entry(64)}  if (i >= ${N}) { return; }
${decode}  var j = index[${IO} + c${dim} * ${IS}];
  if (j < 0 || j >= ${S}) { ${reportOutOfBounds('indexSelect', 'j', S)} out[${outAt}] = ${w}(0); return; }
  out[${outAt}] = x[${xAt}];
}
`;
  runPerElement(rt, code, [x, index, out, rt.boundsBuffer()], p, n);
}

export function indexAdd(
  rt: Runtime,
  dst: KernelTensor,
  dim: number,
  index: KernelTensor,
  src: KernelTensor,
): void {
  const count = numel(index.shape);
  const ds = atLeast1d(dst);
  const ss: KernelTensor = src.shape.length ? src : { ...src, shape: [count], strides: [0] };
  const n = numel(ss.shape);
  if (n === 0) return;
  const w = wordOf(dst.dtype);
  const p = new Params();
  const N = p.int(n);
  const decode = coords(p, 'i', ss.shape);
  const { size } = along(ds, dim);
  const [S, IO, IS] = p.ints([size, index.offset, index.shape.length ? index.strides[0] : 0]);
  const srcAt = offsetExpr(p, ss, -1, '');
  const dstAt = offsetExpr(p, ds, dim, 'j');
  const code = `${p.decl()}${binding(1, 'index', 'i32', false)}${binding(2, 'src', w, false)}${atomicBinding(3, w)}${boundsBinding(4)}${entry(64)}  if (i >= ${N}) { return; }
${decode}  var j = index[${IO} + c${dim} * ${IS}];
  if (j < 0 || j >= ${S}) { ${reportOutOfBounds('indexAdd', 'j', S)} return; }
  let v = src[${srcAt}];
${atomicAdd(w, dstAt, 'v')}}
`;
  runPerElement(rt, code, [index, src, dst, rt.boundsBuffer()], p, n);
}

/**
 * Sorts every slice along `dim`. Slices are copied into padded scratch (keys and original
 * indices; padding gets index -1 and sorts last), sorted by a bitonic network of compare-exchange
 * passes, then written out.
 */
export function sort(
  rt: Runtime,
  x: KernelTensor,
  dim: number,
  descending: boolean,
  values: KernelTensor,
  indices: KernelTensor,
): void {
  const total = numel(x.shape);
  if (total === 0) return;
  const xs = atLeast1d(x);
  const vs = atLeast1d(values);
  const is = atLeast1d(indices);
  const n = xs.shape[dim];
  const rows = total / n;
  let padded = 1;
  while (padded < n) padded *= 2;
  const w = wordOf(x.dtype);
  const keys = rt.alloc(rows * padded * 4);
  const order = rt.alloc(rows * padded * 4);
  const kept = xs.shape.filter((_, d) => d !== dim);
  const keptStrides = (t: KernelTensor) => t.strides.filter((_, d) => d !== dim);

  // Load: invocation (row, k) over rows * padded.
  {
    const p = new Params();
    const [N, P, L] = p.ints([rows * padded, padded, n]);
    const offsets = stridedOffsets(p, 'row', kept, [{ strides: keptStrides(xs), offset: xs.offset }], ['xo']);
    const SX = p.int(xs.strides[dim]);
    const code = `${p.decl()}${binding(1, 'x', w, false)}${binding(2, 'keys', w, true)}${binding(3, 'order', 'i32', true)}${entry(64)}  if (i >= ${N}) { return; }
  let row = i / ${P};
  let k = i % ${P};
${offsets}  if (k < ${L}) { keys[i] = x[xo + k * ${SX}]; order[i] = k; } else { keys[i] = ${w}(0); order[i] = -1; }
}
`;
    runPerElement(rt, code, [x.buffer as GpuBuffer, keys, order], p, rows * padded);
  }

  // Compare-exchange passes of the bitonic network.
  const nanOf = (v: string) => (w === 'f32' ? `isnan_(${v})` : 'false');
  for (let size = 2; size <= padded; size *= 2) {
    for (let stride = size / 2; stride >= 1; stride /= 2) {
      const p = new Params();
      const [N, P, SIZE, STRIDE] = p.ints([rows * padded, padded, size, stride]);
      const code = `${p.decl()}${binding(1, 'keys', w, true)}${binding(2, 'order', 'i32', true)}${FLOAT_PRELUDE}
fn cmp_(a: ${w}, b: ${w}) -> i32 {
  let an = ${nanOf('a')};
  let bn = ${nanOf('b')};
  if (an || bn) { return select(select(-1, 0, bn), 1, an && !bn); }
  return select(select(0, 1, a > b), -1, a < b);
}
/** Whether element (ka, ia) comes before (kb, ib) in the final order. */
fn before_(ka: ${w}, ia: i32, kb: ${w}, ib: i32) -> bool {
  if (ia < 0) { return false; }
  if (ib < 0) { return true; }
  let c = ${descending ? '-' : ''}cmp_(ka, kb);
  return c < 0 || (c == 0 && ia < ib);
}
${entry(64)}  if (i >= ${N}) { return; }
  let k = i % ${P};
  let partner = k ^ ${STRIDE};
  if (partner <= k) { return; }
  let a = i;
  let b = i - k + partner;
  let up = (k & ${SIZE}) == 0;
  let ka = keys[a]; let ia = order[a]; let kb = keys[b]; let ib = order[b];
  let swap = select(before_(ka, ia, kb, ib), before_(kb, ib, ka, ia), up);
  if (swap) { keys[a] = kb; order[a] = ib; keys[b] = ka; order[b] = ia; }
}
`;
      runPerElement(rt, code, [keys, order], p, rows * padded);
    }
  }

  // Write back: invocation (row, k) over rows * n.
  {
    const p = new Params();
    const [N, P, L] = p.ints([rows * n, padded, n]);
    const offsets = stridedOffsets(
      p,
      'row',
      kept,
      [
        { strides: keptStrides(vs), offset: vs.offset },
        { strides: keptStrides(is), offset: is.offset },
      ],
      ['vo', 'io'],
    );
    const [SV, SI] = p.ints([vs.strides[dim], is.strides[dim]]);
    const code = `${p.decl()}${binding(1, 'keys', w, false)}${binding(2, 'order', 'i32', false)}${binding(3, 'vals', w, true)}${binding(4, 'idx', 'i32', true)}${entry(64)}  if (i >= ${N}) { return; }
  let row = i / ${L};
  let k = i % ${L};
${offsets}  vals[vo + k * ${SV}] = keys[row * ${P} + k];
  idx[io + k * ${SI}] = order[row * ${P} + k];
}
`;
    runPerElement(
      rt,
      code,
      [keys, order, values.buffer as GpuBuffer, indices.buffer as GpuBuffer],
      p,
      rows * n,
    );
  }
  rt.free(keys);
  rt.free(order);
}
