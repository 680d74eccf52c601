// Index-based ops: gather/scatter-add, index-select/index-add, sort and top-k. Values of sort,
// top-k and max(dim) are gathered at their indices, so gather's backward rule serves them all.
import { noGrad } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { castTo, commonDevice, emptyTensor, requireCompute } from '../dispatch/dispatch.js';
import { DEFAULT_INT, isIntegral } from '../dtype/dtype.js';
import { formatShape, normalizeDim } from '../shape/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { zeros } from './creation.js';
import { mul } from './elementwise.js';
import type { ValuesIndices } from './reduction.js';
import { clone, slice } from './shape.js';

function checkIndex(op: string, index: Tensor): Tensor {
  if (!isIntegral(index.dtype))
    throw new TypeError(
      `${op}: expected index to have an integer dtype (int32 or int64), got ${index.dtype}`,
    );
  return castTo(index, DEFAULT_INT);
}

function disposeIfTemp(t: Tensor, original: Tensor): void {
  if (t !== original) t.dispose();
}

export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  commonDevice('gather', [x, index]);
  const d = normalizeDim('gather', dim, x.ndim);
  if (index.ndim !== x.ndim && !(x.ndim === 0 && index.ndim <= 1)) {
    throw new Error(
      `gather: index tensor must have the same number of dimensions as input tensor (input ${formatShape(x.shape)}, index ${formatShape(index.shape)})`,
    );
  }
  index.shape.forEach((s, i) => {
    if (i !== d && s > x.shape[i]) {
      throw new Error(
        `gather: size does not match at dimension ${i}: expected index ${formatShape(index.shape)} to be no larger than self ${formatShape(x.shape)} apart from dimension ${d}`,
      );
    }
  });
  const idx = checkIndex('gather', index);
  const backend = requireCompute('gather', x.device, x.dtype);
  const out = emptyTensor(index.shape, x.dtype, x.device);
  backend.gather(x.kernel, d, idx.kernel, out.kernel);
  const inShape = x.shape;
  const result = record(
    'GatherBackward',
    out,
    [x],
    (g, [i]) => [scatterAdd(zeros(inShape, { dtype: g.dtype, device: g.device }), d, i, g)],
    {
      save: [idx],
    },
  );
  disposeIfTemp(idx, index);
  return result;
}

/** Out-of-place scatter-add: a copy of `x` with `src` added at `index` along `dim`. */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  commonDevice('scatterAdd', [x, index, src]);
  const d = normalizeDim('scatterAdd', dim, x.ndim);
  if (index.ndim !== x.ndim || src.ndim !== x.ndim) {
    throw new Error(
      `scatterAdd: index ${formatShape(index.shape)} and src ${formatShape(src.shape)} must have as many dims as self ${formatShape(x.shape)}`,
    );
  }
  index.shape.forEach((s, i) => {
    if (s > src.shape[i] || (i !== d && s > x.shape[i])) {
      throw new Error(
        `scatterAdd: index ${formatShape(index.shape)} is larger than src ${formatShape(src.shape)} or self ${formatShape(x.shape)} at dimension ${i}`,
      );
    }
  });
  const idx = checkIndex('scatterAdd', index);
  const backend = requireCompute('scatterAdd', x.device, x.dtype);
  const out = noGrad(() => clone(x));
  const srcC = castTo(src, x.dtype);
  backend.scatterAdd(out.kernel, d, idx.kernel, srcC.kernel);
  disposeIfTemp(srcC, src);
  const result = record('ScatterAddBackward', out, [x, src], (g, [i]) => [g, gather(g, d, i)], {
    save: [idx],
  });
  disposeIfTemp(idx, index);
  return result;
}

export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  commonDevice('indexSelect', [x, index]);
  if (index.ndim > 1)
    throw new Error(`indexSelect: index must be a vector (got shape ${formatShape(index.shape)})`);
  const d = normalizeDim('indexSelect', dim, x.ndim);
  const idx = checkIndex('indexSelect', index);
  const backend = requireCompute('indexSelect', x.device, x.dtype);
  const shape = x.ndim === 0 ? [] : [...x.shape];
  if (x.ndim > 0) shape[d] = idx.numel();
  const out = emptyTensor(shape, x.dtype, x.device);
  backend.indexSelect(x.kernel, d, idx.kernel, out.kernel);
  const inShape = x.shape;
  const result = record(
    'IndexSelectBackward',
    out,
    [x],
    (g, [i]) => [indexAdd(zeros(inShape, { dtype: g.dtype, device: g.device }), d, i, g)],
    { save: [idx] },
  );
  disposeIfTemp(idx, index);
  return result;
}

/** Out-of-place index-add: a copy of `x` with `alpha * source` added at rows `index` of `dim`. */
export function indexAdd(x: Tensor, dim: number, index: Tensor, source: Tensor, alpha = 1): Tensor {
  commonDevice('indexAdd', [x, index, source]);
  const d = normalizeDim('indexAdd', dim, x.ndim);
  if (index.ndim > 1)
    throw new Error(`indexAdd: index must be a vector (got shape ${formatShape(index.shape)})`);
  const expected = [...x.shape];
  if (x.ndim > 0) expected[d] = index.numel();
  if (source.ndim !== x.ndim || source.shape.some((s, i) => s !== expected[i])) {
    throw new Error(
      `indexAdd: source ${formatShape(source.shape)} must have shape ${formatShape(expected)} (self ${formatShape(x.shape)}, ${index.numel()} indices along dim ${d})`,
    );
  }
  const idx = checkIndex('indexAdd', index);
  const backend = requireCompute('indexAdd', x.device, x.dtype);
  const scaled = noGrad(() => (alpha === 1 ? castTo(source, x.dtype) : mul(source, alpha)));
  const out = noGrad(() => clone(x));
  backend.indexAdd(out.kernel, d, idx.kernel, scaled.kernel);
  disposeIfTemp(scaled, source);
  const result = record(
    'IndexAddBackward',
    out,
    [x, source],
    (g, [i]) => [g, alpha === 1 ? indexSelect(g, d, i) : mul(indexSelect(g, d, i), alpha)],
    { save: [idx] },
  );
  disposeIfTemp(idx, index);
  return result;
}

/** Stable sort along `dim`: values and int32 indices. */
export function sort(x: Tensor, dim = -1, descending = false): ValuesIndices {
  const d = normalizeDim('sort', dim, x.ndim);
  const backend = requireCompute('sort', x.device, x.dtype);
  const values = emptyTensor(x.shape, x.dtype, x.device);
  const indices = emptyTensor(x.shape, DEFAULT_INT, x.device);
  backend.sort(x.kernel, Math.min(d, Math.max(x.ndim - 1, 0)), descending, values.kernel, indices.kernel);
  if (!x.requiresGrad) return { values, indices };
  values.dispose();
  return { values: gather(x, d, indices), indices };
}

export function topk(x: Tensor, k: number, dim = -1, largest = true): ValuesIndices {
  const d = normalizeDim('topk', dim, x.ndim);
  const size = x.ndim === 0 ? 1 : x.shape[d];
  if (!Number.isInteger(k) || k < 0 || k > size)
    throw new RangeError(`topk: k (${k}) is out of range for dimension ${d} of size ${size}`);
  const sorted = sort(x, d, largest);
  const indices = slice(sorted.indices, d, 0, k);
  sorted.values.dispose();
  const values = gather(x, d, indices);
  const ownedIndices = clone(indices);
  indices.dispose();
  sorted.indices.dispose();
  return { values, indices: ownedIndices };
}
