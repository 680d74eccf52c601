// Movement ops. reshape/view/permute/expand/slice/select/squeeze/unsqueeze are metadata-only views
// sharing storage, as in PyTorch; their gradients are views or scatters of the incoming gradient.
import { record } from '../autograd/record.js';
import { backendOf, commonDevice, emptyTensor } from '../dispatch/dispatch.js';
import { promoteTypes } from '../dtype/dtype.js';
import {
  formatShape,
  inferShape,
  isContiguous,
  normalizeDim,
  normalizeDims,
  numel,
  shapeArg,
  viewStrides,
} from '../shape/shape.js';
import { composite } from '../tensor/memory.js';
import { Tensor } from '../tensor/tensor.js';
import { arange, zeros } from './creation.js';
import { indexSelect } from './indexing.js';
import { sumTo } from './reduction.js';

type ShapeArgs = (number | readonly number[])[];

/**
 * A view of `t` with new metadata over the same storage. `take` takes the same view of any tensor
 * shaped like `t`; views remember their root base and the composed `take`, for in-place writes.
 */
export function makeView(
  t: Tensor,
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  take: (like: Tensor) => Tensor,
): Tensor {
  const v = new Tensor(t.storage, shape, strides, offset);
  const parentTake = t.viewFn;
  if (t.viewBase && parentTake && !t.viewBase.isDisposed) {
    v.viewBase = t.viewBase;
    v.viewFn = (base) => take(parentTake(base));
  } else {
    v.viewBase = t;
    v.viewFn = take;
  }
  return v;
}

/**
 * The gradient of a view: a zero tensor of the base's shape with `g` written into the same view of
 * it. Itself differentiable (its gradient is the view of the incoming gradient), for createGraph.
 */
export function viewScatter(
  g: Tensor,
  baseShape: readonly number[],
  viewOf: (base: Tensor) => Tensor,
): Tensor {
  const out = zeros(baseShape, { dtype: g.dtype, device: g.device });
  const target = viewOf(out);
  backendOf(out).copy(g.kernel, target.kernel);
  target.dispose();
  return record('ViewScatterBackward', out, [g], (gg) => [viewOf(gg)]);
}

export function isContiguousTensor(t: Tensor): boolean {
  return isContiguous(t.shape, t.strides);
}

export function view(t: Tensor, ...shapeArgs: ShapeArgs): Tensor {
  const shape = inferShape('view', shapeArg(shapeArgs), t.numel());
  const strides = viewStrides(t.shape, t.strides, shape);
  if (!strides) {
    throw new Error(
      `view: view size is not compatible with input tensor's size and stride (input ${formatShape(t.shape)} with ` +
        `strides ${formatShape(t.strides)}, requested ${formatShape(shape)}): at least one dimension spans across two ` +
        'contiguous subspaces. Use .reshape(...) instead.',
    );
  }
  const inShape = t.shape;
  const v = makeView(t, shape, strides, t.offset, (b) => view(b, shape));
  return record('ViewBackward', v, [t], (g) => [reshape(g, inShape)]);
}

export function reshape(t: Tensor, ...shapeArgs: ShapeArgs): Tensor {
  const shape = inferShape('reshape', shapeArg(shapeArgs), t.numel());
  if (viewStrides(t.shape, t.strides, shape)) return view(t, shape);
  const c = contiguous(t);
  const out = view(c, shape);
  c.dispose();
  return out;
}

export function flatten(t: Tensor, startDim = 0, endDim = -1): Tensor {
  if (t.ndim === 0) return reshape(t, [1]);
  const s = normalizeDim('flatten', startDim, t.ndim);
  const e = normalizeDim('flatten', endDim, t.ndim);
  if (s > e) throw new Error('flatten: start_dim cannot come after end_dim');
  const shape = [...t.shape.slice(0, s), numel(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)];
  return reshape(t, shape);
}

export function squeeze(t: Tensor, dim?: number | readonly number[]): Tensor {
  const dims = dim === undefined ? t.shape.map((_, i) => i) : normalizeDims('squeeze', dim, t.ndim);
  const keep = t.shape.map((d, i) => !(dims.includes(i) && d === 1));
  const shape = t.shape.filter((_, i) => keep[i]);
  const strides = t.strides.filter((_, i) => keep[i]);
  const inShape = t.shape;
  const v = makeView(t, shape, strides, t.offset, (b) => squeeze(b, dims));
  return record('SqueezeBackward', v, [t], (g) => [reshape(g, inShape)]);
}

export function unsqueeze(t: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, t.ndim + 1);
  const shape = [...t.shape];
  const strides = [...t.strides];
  const stride = d < t.ndim ? t.shape[d] * t.strides[d] : 1;
  shape.splice(d, 0, 1);
  strides.splice(d, 0, stride);
  const v = makeView(t, shape, strides, t.offset, (b) => unsqueeze(b, d));
  return record('UnsqueezeBackward', v, [t], (g) => [squeeze(g, d)]);
}

export function permute(t: Tensor, ...dimArgs: ShapeArgs): Tensor {
  const dims = shapeArg(dimArgs);
  if (dims.length !== t.ndim) {
    throw new Error(
      `permute: number of dims don't match in permute (input ${formatShape(t.shape)} has ${t.ndim} dims, got ${dims.length})`,
    );
  }
  const norm = dims.map((d) => normalizeDim('permute', d, t.ndim));
  if (new Set(norm).size !== norm.length) throw new Error(`permute: repeated dim in ${formatShape(dims)}`);
  const inverse = new Array<number>(norm.length);
  norm.forEach((d, i) => {
    inverse[d] = i;
  });
  const v = makeView(
    t,
    norm.map((d) => t.shape[d]),
    norm.map((d) => t.strides[d]),
    t.offset,
    (b) => permute(b, norm),
  );
  return record('PermuteBackward', v, [t], (g) => [permute(g, inverse)]);
}

export function transpose(t: Tensor, dim0: number, dim1: number): Tensor {
  if (t.ndim === 0) return permute(t, []);
  const a = normalizeDim('transpose', dim0, t.ndim);
  const b = normalizeDim('transpose', dim1, t.ndim);
  const dims = t.shape.map((_, i) => i);
  dims[a] = b;
  dims[b] = a;
  return permute(t, dims);
}

export function expand(t: Tensor, ...shapeArgs: ShapeArgs): Tensor {
  const req = shapeArg(shapeArgs);
  if (req.length < t.ndim) {
    throw new Error(
      `expand: the number of sizes provided (${req.length}) must be greater or equal to the number of dimensions in the tensor (${t.ndim})`,
    );
  }
  const lead = req.length - t.ndim;
  const shape: number[] = [];
  const strides: number[] = [];
  req.forEach((r, i) => {
    if (i < lead) {
      if (r < 0)
        throw new Error(
          `expand: the expanded size of the tensor (${r}) isn't allowed in a leading, non-existing dimension ${i}`,
        );
      shape.push(r);
      strides.push(0);
      return;
    }
    const src = t.shape[i - lead];
    const size = r === -1 ? src : r;
    if (src !== size && src !== 1) {
      throw new Error(
        `expand: the expanded size of the tensor (${size}) must match the existing size (${src}) at non-singleton dimension ${i}. ` +
          `Target sizes: ${formatShape(req)}. Tensor sizes: ${formatShape(t.shape)}`,
      );
    }
    shape.push(size);
    strides.push(src === size ? t.strides[i - lead] : 0);
  });
  const inShape = t.shape;
  const v = makeView(t, shape, strides, t.offset, (b) => expand(b, shape));
  return record('ExpandBackward', v, [t], (g) => [sumTo(g, inShape)]);
}

/** A contiguous copy (kept as a distinct tensor even when the input is contiguous). */
export function clone(t: Tensor): Tensor {
  const out = emptyTensor(t.shape, t.dtype, t.device);
  backendOf(t).copy(t.kernel, out.kernel);
  return record('CloneBackward', out, [t], (g) => [g]);
}

export function contiguous(t: Tensor): Tensor {
  return isContiguousTensor(t) ? t : clone(t);
}

export function slice(t: Tensor, dim: number, start: number, end?: number, step = 1): Tensor {
  if (t.ndim === 0) throw new Error('slice: cannot be applied to a 0-dim tensor');
  const d = normalizeDim('slice', dim, t.ndim);
  if (!Number.isInteger(step) || step <= 0)
    throw new Error(`slice: step must be a positive integer (got ${step})`);
  const size = t.shape[d];
  // Python slice semantics: negative indices count from the end; out-of-range bounds clamp.
  const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const s = clampIndex(start);
  const e = Math.max(s, clampIndex(end ?? size));
  const len = Math.ceil((e - s) / step);
  const shape = [...t.shape];
  const strides = [...t.strides];
  shape[d] = len;
  strides[d] = t.strides[d] * step;
  const viewOf = (base: Tensor) => slice(base, d, s, e, step);
  const inShape = t.shape;
  const v = makeView(t, shape, strides, t.offset + s * t.strides[d], viewOf);
  return record('SliceBackward', v, [t], (g) => [viewScatter(g, inShape, viewOf)]);
}

export function narrow(t: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim('narrow', dim, t.ndim);
  const s = start < 0 ? start + t.shape[d] : start;
  if (s < 0 || length < 0 || s + length > t.shape[d]) {
    throw new RangeError(
      `narrow: start (${start}) + length (${length}) exceeds dimension size (${t.shape[d]}) of dim ${d}`,
    );
  }
  return slice(t, d, s, s + length);
}

export function select(t: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim('select', dim, t.ndim);
  const size = t.shape[d];
  if (index < -size || index >= size) {
    throw new RangeError(
      `select: index ${index} out of range for tensor of size ${formatShape(t.shape)} at dimension ${d}`,
    );
  }
  const i = index < 0 ? index + size : index;
  const shape = t.shape.filter((_, j) => j !== d);
  const strides = t.strides.filter((_, j) => j !== d);
  const viewOf = (base: Tensor) => select(base, d, i);
  const inShape = t.shape;
  const v = makeView(t, shape, strides, t.offset + i * t.strides[d], viewOf);
  return record('SelectBackward', v, [t], (g) => [viewScatter(g, inShape, viewOf)]);
}

export function split(t: Tensor, sizeOrSizes: number | readonly number[], dim = 0): Tensor[] {
  const d = normalizeDim('split', dim, t.ndim);
  const size = t.shape[d];
  let sizes: number[];
  if (typeof sizeOrSizes === 'number') {
    if (sizeOrSizes <= 0) throw new Error(`split: split_size must be positive (got ${sizeOrSizes})`);
    sizes = [];
    for (let s = 0; s < size; s += sizeOrSizes) sizes.push(Math.min(sizeOrSizes, size - s));
    if (size === 0) sizes.push(0);
  } else {
    sizes = [...sizeOrSizes];
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== size) {
      throw new Error(
        `split: split_with_sizes expects split_sizes to sum exactly to ${size} (input tensor's size at dimension ${d}), but got split_sizes=${formatShape(sizes)}`,
      );
    }
  }
  const out: Tensor[] = [];
  let start = 0;
  for (const s of sizes) {
    out.push(slice(t, d, start, start + s));
    start += s;
  }
  return out;
}

export function chunk(t: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0)
    throw new Error(`chunk: chunks must be a positive integer (got ${chunks})`);
  const d = normalizeDim('chunk', dim, t.ndim);
  const each = Math.ceil(t.shape[d] / chunks);
  return split(t, Math.max(each, 1), d);
}

export function unbind(t: Tensor, dim = 0): Tensor[] {
  const d = normalizeDim('unbind', dim, t.ndim);
  return Array.from({ length: t.shape[d] }, (_, i) => select(t, d, i));
}

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('cat: expected a non-empty list of Tensors');
  // PyTorch skips legacy empty 1-D tensors of shape [0] when concatenating.
  const parts = tensors.filter((t) => !(t.ndim === 1 && t.shape[0] === 0));
  if (parts.length === 0) return clone(tensors[0]);
  const ref = parts[0];
  if (ref.ndim === 0) throw new Error('cat: zero-dimensional tensor (at position 0) cannot be concatenated');
  const d = normalizeDim('cat', dim, ref.ndim);
  const device = commonDevice('cat', parts);
  let dtype = ref.dtype;
  parts.forEach((t, i) => {
    dtype = promoteTypes(dtype, t.dtype);
    if (t.ndim !== ref.ndim || t.shape.some((s, j) => j !== d && s !== ref.shape[j])) {
      throw new Error(
        `cat: sizes of tensors must match except in dimension ${d}. Expected ${formatShape(ref.shape)} but got ` +
          `${formatShape(t.shape)} for tensor number ${i} in the list`,
      );
    }
  });
  const shape = [...ref.shape];
  shape[d] = parts.reduce((a, t) => a + t.shape[d], 0);
  const out = emptyTensor(shape, dtype, device);
  const backend = backendOf(out);
  const sizes: number[] = [];
  let start = 0;
  for (const t of parts) {
    const target = out.slice(d, start, start + t.shape[d]);
    backend.copy(t.kernel, target.kernel);
    target.dispose();
    sizes.push(t.shape[d]);
    start += t.shape[d];
  }
  const dtypes = parts.map((t) => t.dtype);
  return record('CatBackward', out, parts, (g) =>
    split(g, sizes, d).map((gi, i) => (gi.dtype === dtypes[i] ? gi : gi.to(dtypes[i]))),
  );
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: expected a non-empty list of Tensors');
  const ref = tensors[0];
  tensors.forEach((t, i) => {
    if (t.ndim !== ref.ndim || t.shape.some((s, j) => s !== ref.shape[j])) {
      throw new Error(
        `stack: expects each tensor to be equal size, but got ${formatShape(ref.shape)} at entry 0 and ${formatShape(t.shape)} at entry ${i}`,
      );
    }
  });
  const d = normalizeDim('stack', dim, ref.ndim + 1);
  const expanded = tensors.map((t) => unsqueeze(t, d));
  const out = cat(expanded, d);
  for (const e of expanded) e.dispose();
  return out;
}

export function repeat(t: Tensor, ...sizeArgs: ShapeArgs): Tensor {
  return composite(() => repeatImpl(t, ...sizeArgs));
}

function repeatImpl(t: Tensor, ...sizeArgs: ShapeArgs): Tensor {
  const reps = shapeArg(sizeArgs);
  if (reps.length < t.ndim) {
    throw new Error(
      'repeat: number of dimensions of repeat dims can not be smaller than number of dimensions of tensor',
    );
  }
  const padded = [...new Array(reps.length - t.ndim).fill(1), ...t.shape];
  // [r0, s0, r1, s1, ...] by expanding a [1, s0, 1, s1, ...] view, then merging pairs.
  const interleaved = padded.flatMap((s) => [1, s]);
  const expandedShape = padded.flatMap((s, i) => [reps[i], s]);
  const x = reshape(t, interleaved);
  const e = expand(x, expandedShape);
  const out = reshape(
    e,
    padded.map((s, i) => s * reps[i]),
  );
  return out;
}

export function flip(t: Tensor, dims: number | readonly number[]): Tensor {
  const ds = normalizeDims('flip', dims, t.ndim);
  let out = t;
  for (const d of ds) {
    const n = t.shape[d];
    const index = arange(n - 1, -1, -1, { device: t.device });
    const next = indexSelect(out, d, index);
    index.dispose();
    if (out !== t) out.dispose();
    out = next;
  }
  return out === t ? clone(t) : out;
}
