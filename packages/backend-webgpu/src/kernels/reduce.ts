// Reductions. Small slices: one invocation per output folds its slice. Long slices: one workgroup
// per output, each invocation folding a strided share, then a tree in workgroup memory. The same
// row machinery runs arg-reductions, cumsum and the fused softmax / log-softmax / logsumexp.
import type { ArgReduceOp, KernelTensor, ReduceOp } from '@kiln/core';
import { numel } from '@kiln/core';
import { type GpuBuffer, grid, type Runtime } from '../runtime.js';
import {
  binding,
  entry,
  FLOAT_PRELUDE,
  type Layout,
  Params,
  stridedOffsets,
  type Word,
  wordOf,
} from '../wgsl.js';
import { storeAs } from './elementwise.js';

const TREE = 64;

interface Fold {
  init: string;
  step: (acc: string, v: string) => string;
  type: Word | 'bool';
}

function foldFor(op: ReduceOp, word: Word): Fold {
  const zero = word === 'f32' ? '0.0' : '0';
  switch (op) {
    case 'sum':
      return { init: zero, step: (a, v) => `${a} + ${v}`, type: word };
    case 'prod':
      return { init: word === 'f32' ? '1.0' : '1', step: (a, v) => `${a} * ${v}`, type: word };
    case 'max':
      return word === 'f32'
        ? { init: '-inf_()', step: (a, v) => `max_(${a}, ${v})`, type: word }
        : { init: '-2147483647 - 1', step: (a, v) => `max(${a}, ${v})`, type: word };
    case 'min':
      return word === 'f32'
        ? { init: 'inf_()', step: (a, v) => `min_(${a}, ${v})`, type: word }
        : { init: '2147483647', step: (a, v) => `min(${a}, ${v})`, type: word };
    case 'any':
      return { init: 'false', step: (a, v) => `${a} || (${v} != ${zero})`, type: 'bool' };
    case 'all':
      return { init: 'true', step: (a, v) => `${a} && (${v} != ${zero})`, type: 'bool' };
  }
}

/** Splits `x`'s dims into kept ones (aligned with the keepdim-shaped output) and reduced ones. */
function split(x: KernelTensor, out: KernelTensor, dims: readonly number[]) {
  const kept: number[] = [];
  const keptX: number[] = [];
  const keptOut: number[] = [];
  const red: number[] = [];
  const redX: number[] = [];
  x.shape.forEach((s, d) => {
    if (dims.includes(d)) {
      red.push(s);
      redX.push(x.strides[d]);
    } else {
      kept.push(s);
      keptX.push(x.strides[d]);
      keptOut.push(out.strides[d]);
    }
  });
  return {
    kept,
    keptLayouts: [
      { strides: keptX, offset: x.offset },
      { strides: keptOut, offset: out.offset },
    ] as Layout[],
    red,
    redLayout: { strides: redX, offset: 0 } as Layout,
  };
}

export function reduce(
  rt: Runtime,
  op: ReduceOp,
  x: KernelTensor,
  dims: readonly number[],
  out: KernelTensor,
): void {
  const m = numel(out.shape);
  if (m === 0) return;
  const word = wordOf(x.dtype);
  const fold = foldFor(op, word);
  const { kept, keptLayouts, red, redLayout } = split(x, out, dims);
  const r = numel(red);
  const accType = fold.type === 'bool' ? 'bool' : word;
  const p = new Params();
  const M = p.int(m);
  const R = p.int(r);
  const tree = r >= 256 || (r >= 64 && m < 1024);
  const head = `${binding(1, 'x', word, false)}${binding(2, 'out', wordOf(out.dtype), true)}${FLOAT_PRELUDE}`;
  let body: string;
  if (!tree) {
    body =
      `${entry(64)}  if (i >= ${M}) { return; }\n` +
      stridedOffsets(p, 'i', kept, keptLayouts, ['xo', 'oo']) +
      `  var acc: ${accType} = ${fold.init};\n  for (var r = 0; r < ${R}; r++) {\n` +
      stridedOffsets(p, 'r', red, [redLayout], ['ro']) +
      `    acc = ${fold.step('acc', 'x[xo + ro]')};\n  }\n` +
      `  out[oo] = ${storeAs(out.dtype, ['acc', accType])};\n}\n`;
  } else {
    body =
      `var<workgroup> sh: array<${accType}, ${TREE}>;\n${entry(TREE)}  if (wg >= ${M}) { return; }\n` +
      stridedOffsets(p, 'wg', kept, keptLayouts, ['xo', 'oo']) +
      `  var acc: ${accType} = ${fold.init};\n  for (var r = i32(lid); r < ${R}; r += ${TREE}) {\n` +
      stridedOffsets(p, 'r', red, [redLayout], ['ro']) +
      `    acc = ${fold.step('acc', 'x[xo + ro]')};\n  }\n  sh[lid] = acc;\n  workgroupBarrier();\n` +
      `  for (var s = ${TREE / 2}u; s > 0u; s = s >> 1u) {\n` +
      `    if (lid < s) { sh[lid] = ${fold.step('sh[lid]', accType === 'bool' ? `select(0, 1, sh[lid + s])` : 'sh[lid + s]')}; }\n` +
      '    workgroupBarrier();\n  }\n' +
      `  if (lid == 0u) { out[oo] = ${storeAs(out.dtype, ['sh[0]', accType])}; }\n}\n`;
  }
  const code = p.decl() + head + body;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: [x.buffer as GpuBuffer, out.buffer as GpuBuffer],
    params: p.values,
    workgroups: grid(tree ? m : Math.ceil(m / 64)),
  });
}

/** One invocation per slice along `dim`: the kept dims' offsets into x and out, the slice's length and strides. */
function rowsAlong(p: Params, x: KernelTensor, out: KernelTensor, dim: number, idx: string) {
  const rank0 = x.shape.length === 0;
  const kept = x.shape.filter((_, d) => d !== dim || rank0);
  const offsets = stridedOffsets(
    p,
    idx,
    kept,
    [
      { strides: x.strides.filter((_, d) => d !== dim || rank0), offset: x.offset },
      { strides: out.strides.filter((_, d) => d !== dim || rank0), offset: out.offset },
    ],
    ['xo', 'oo'],
  );
  return {
    rows: numel(kept),
    offsets,
    n: p.int(rank0 ? 1 : x.shape[dim]),
    sx: p.int(rank0 ? 0 : x.strides[dim]),
    so: p.int(rank0 ? 0 : out.strides[dim]),
  };
}

export function argReduce(
  rt: Runtime,
  op: ArgReduceOp,
  x: KernelTensor,
  dim: number,
  out: KernelTensor,
): void {
  const word = wordOf(x.dtype);
  const p = new Params();
  const rowsP = p.int(0);
  const { rows, offsets, n, sx } = rowsAlong(p, x, out, dim, 'i');
  p.values[0] = rows;
  if (rows === 0) return;
  const better = op === 'argmax' ? '>' : '<';
  const nan = (v: string) => (word === 'f32' ? `isnan_(${v})` : 'false');
  const code = `${p.decl()}${binding(1, 'x', word, false)}${binding(2, 'out', 'i32', true)}${FLOAT_PRELUDE}${entry(64)}  if (i >= ${rowsP}) { return; }
${offsets}  var best = x[xo];
  var bestI = 0;
  if (!${nan('best')}) {
    for (var k = 1; k < ${n}; k++) {
      let v = x[xo + k * ${sx}];
      if (${nan('v')}) { bestI = k; break; }
      if (v ${better} best) { best = v; bestI = k; }
    }
  }
  out[oo] = bestI;
}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: [x.buffer as GpuBuffer, out.buffer as GpuBuffer],
    params: p.values,
    workgroups: grid(Math.ceil(rows / 64)),
  });
}

export function cumsum(rt: Runtime, x: KernelTensor, dim: number, out: KernelTensor): void {
  const word = wordOf(x.dtype);
  const p = new Params();
  const rowsP = p.int(0);
  const { rows, offsets, n, sx, so } = rowsAlong(p, x, out, dim, 'i');
  p.values[0] = rows;
  if (rows === 0 || numel(x.shape) === 0) return;
  const code = `${p.decl()}${binding(1, 'x', word, false)}${binding(2, 'out', word, true)}${entry(64)}  if (i >= ${rowsP}) { return; }
${offsets}  var acc: ${word} = ${word}(0);
  for (var k = 0; k < ${n}; k++) {
    acc = acc + x[xo + k * ${sx}];
    out[oo + k * ${so}] = acc;
  }
}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: [x.buffer as GpuBuffer, out.buffer as GpuBuffer],
    params: p.values,
    workgroups: grid(Math.ceil(rows / 64)),
  });
}

export type RowMode = 'softmax' | 'logSoftmax' | 'logsumexp';

/**
 * Fused softmax / log-softmax / logsumexp: one workgroup per row finds the max, sums exp(x - max)
 * and writes, with both reductions as trees in workgroup memory. An all -inf row shifts by 0, as
 * PyTorch does (softmax NaN, logsumexp -inf).
 */
export function rowSoftmax(
  rt: Runtime,
  mode: RowMode,
  x: KernelTensor,
  dim: number,
  out: KernelTensor,
): void {
  const p = new Params();
  const rowsP = p.int(0);
  const { rows, offsets, n, sx, so } = rowsAlong(p, x, out, dim, 'wg');
  p.values[0] = rows;
  if (rows === 0) return;
  const tree = (name: string, op: (a: string, b: string) => string) => `  sh[lid] = ${name};
  workgroupBarrier();
  for (var s = ${TREE / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { sh[lid] = ${op('sh[lid]', 'sh[lid + s]')}; }
    workgroupBarrier();
  }
  let ${name}All = sh[0];
  workgroupBarrier();
`;
  let write: string;
  if (mode === 'softmax') {
    write = `  let inv = 1.0 / sumAll;
  for (var k = i32(lid); k < ${n}; k += ${TREE}) { out[oo + k * ${so}] = exp(x[xo + k * ${sx}] - shift) * inv; }\n`;
  } else if (mode === 'logSoftmax') {
    write = `  let lse = log(sumAll) + shift;
  for (var k = i32(lid); k < ${n}; k += ${TREE}) { out[oo + k * ${so}] = x[xo + k * ${sx}] - lse; }\n`;
  } else {
    write = `  if (lid == 0u) { out[oo] = log(sumAll) + shift; }\n`;
  }
  const code = `${p.decl()}${binding(1, 'x', 'f32', false)}${binding(2, 'out', 'f32', true)}${FLOAT_PRELUDE}
var<workgroup> sh: array<f32, ${TREE}>;
${entry(TREE)}  if (wg >= ${rowsP}) { return; }
${offsets}  var mx = -inf_();
  for (var k = i32(lid); k < ${n}; k += ${TREE}) { mx = max_(mx, x[xo + k * ${sx}]); }
${tree('mx', (a, b) => `max_(${a}, ${b})`)}  let shift = select(mxAll, 0.0, abs(mxAll) == inf_());
  var sum = 0.0;
  for (var k = i32(lid); k < ${n}; k += ${TREE}) { sum += exp(x[xo + k * ${sx}] - shift); }
${tree('sum', (a, b) => `${a} + ${b}`)}${write}}
`;
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: [x.buffer as GpuBuffer, out.buffer as GpuBuffer],
    params: p.values,
    workgroups: grid(rows),
  });
}
