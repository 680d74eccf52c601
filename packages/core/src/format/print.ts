// PyTorch-style printing: `tensor([[1.0000, 2.0000], ...], requires_grad=True)`. Large tensors are
// summarised with '...' like PyTorch (threshold 1000 elements, 3 edge items).

import { isFloating } from '../dtype/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

const THRESHOLD = 1000;
const EDGE = 3;

function formatter(values: number[], floating: boolean): (v: number) => string {
  if (!floating) return (v) => String(v);
  const finite = values.filter(Number.isFinite);
  const allInt = finite.every((v) => Number.isInteger(v));
  const maxAbs = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const minAbs = finite
    .filter((v) => v !== 0)
    .reduce((m, v) => Math.min(m, Math.abs(v)), Number.POSITIVE_INFINITY);
  const sci =
    maxAbs >= 1e8 ||
    (minAbs < 1e-4 && minAbs !== Number.POSITIVE_INFINITY) ||
    (maxAbs / minAbs > 1e3 && !allInt && maxAbs > 1e3);
  const fmt = (v: number) => {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    if (sci) return v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
    if (allInt) return `${v.toFixed(0)}.`;
    return v.toFixed(4);
  };
  return fmt;
}

export function formatTensor(t: Tensor): string {
  const suffix: string[] = [];
  if (t.device !== 'cpu') suffix.push(`device='${t.device}'`);
  if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') suffix.push(`dtype=${t.dtype}`);
  if (t.gradFn) suffix.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) suffix.push('requires_grad=True');
  const tail = suffix.length ? `, ${suffix.join(', ')}` : '';
  if (t.isDisposed) return `tensor(<disposed> shape=[${t.shape.join(', ')}]${tail})`;
  let data: ArrayLike<number | bigint>;
  try {
    data = t.dataSync();
  } catch {
    return `tensor(<shape [${t.shape.join(', ')}], ${t.dtype}; await t.data() to read>${tail})`;
  }
  const values = Array.from(data, Number);
  const fmt =
    t.dtype === 'bool' ? (v: number) => (v ? 'True' : 'False') : formatter(values, isFloating(t.dtype));
  const summarize = values.length > THRESHOLD;
  const strs = values.map(fmt);
  const width = strs.reduce((w, s) => Math.max(w, s.length), 0);
  const shape = t.shape;
  const render = (depth: number, base: number, stride: number[]): string => {
    if (depth === shape.length) return strs[base].padStart(width);
    const n = shape[depth];
    const idx =
      summarize && n > 2 * EDGE
        ? [...Array(EDGE).keys(), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)]
        : [...Array(n).keys()];
    const parts = idx.map((i) => (i < 0 ? '...' : render(depth + 1, base + i * stride[depth], stride)));
    const indent = ' '.repeat(depth + 8);
    const sep = depth === shape.length - 1 ? ', ' : `,${'\n'.repeat(shape.length - depth - 1)}${indent}`;
    return `[${parts.join(sep)}]`;
  };
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  return `tensor(${render(0, 0, strides)}${tail})`;
}
