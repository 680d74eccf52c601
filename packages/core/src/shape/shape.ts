// Shape arithmetic shared by every op: one place for broadcasting, dim normalisation and strides.

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** NumPy/PyTorch broadcasting: align trailing dims; sizes must match or be 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = ndim - s.length + i;
      const d = s[i];
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) {
        throw new Error(
          `${op}: shapes ${shapes.map(formatShape).join(' and ')} cannot be broadcast together ` +
            `(dim ${o - ndim}: ${out[o]} vs ${d})`,
        );
      }
    }
  }
  return out;
}

/** Wraps a possibly negative dim into [0, ndim) with PyTorch's error text. */
export function normalizeDim(op: string, dim: number, ndim: number): number {
  // A 0-d tensor accepts dim 0 and -1, as in PyTorch.
  const n = Math.max(ndim, 1);
  if (!Number.isInteger(dim) || dim < -n || dim >= n) {
    throw new RangeError(
      `${op}: dimension out of range (expected to be in range of [${-n}, ${n - 1}], but got ${dim})`,
    );
  }
  return dim < 0 ? dim + n : dim;
}

/** Normalises a dim list, rejecting repeats. `undefined` means all dims. */
export function normalizeDims(
  op: string,
  dims: number | readonly number[] | undefined,
  ndim: number,
): number[] {
  if (dims === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof dims === 'number' ? [dims] : dims;
  const out = list.map((d) => normalizeDim(op, d, ndim)).filter((d) => d < ndim || ndim > 0);
  if (new Set(out).size !== out.length)
    throw new Error(`${op}: dim ${list.join(', ')} appears multiple times in the list of dims`);
  return out.sort((a, b) => a - b);
}

/** Resolves one `-1` in a requested shape, as reshape/view do. */
export function inferShape(op: string, requested: readonly number[], total: number): number[] {
  let inferAt = -1;
  let known = 1;
  for (let i = 0; i < requested.length; i++) {
    const d = requested[i];
    if (d === -1) {
      if (inferAt >= 0) throw new Error(`${op}: only one dimension can be inferred`);
      inferAt = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${op}: invalid shape dimension ${d} in ${formatShape(requested)}`);
    } else known *= d;
  }
  const out = [...requested];
  if (inferAt >= 0) {
    if (known === 0 || total % known !== 0) {
      throw new Error(`${op}: shape ${formatShape(requested)} is invalid for input of size ${total}`);
    }
    out[inferAt] = total / known;
  } else if (known !== total) {
    throw new Error(`${op}: shape ${formatShape(requested)} is invalid for input of size ${total}`);
  }
  return out;
}

/** Accepts both `f(2, 3)` and `f([2, 3])` spellings of a shape argument. */
export function shapeArg(args: readonly (number | readonly number[])[]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return [...(args[0] as readonly number[])];
  return args as number[];
}

/**
 * Strides for viewing a strided tensor with a new shape without copying, or null when the memory
 * layout does not allow it (PyTorch's computeStride: then `view` fails and `reshape` copies).
 */
export function viewStrides(
  oldShape: Shape,
  oldStrides: readonly number[],
  newShape: Shape,
): number[] | null {
  if (numel(oldShape) <= 1) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let chunkBaseStride = oldStrides.length > 0 ? oldStrides[oldStrides.length - 1] : 1;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let tensorD = oldShape.length - 1; tensorD >= 0; tensorD--) {
    tensorNumel *= oldShape[tensorD];
    if (
      tensorD === 0 ||
      (oldShape[tensorD - 1] !== 1 && oldStrides[tensorD - 1] !== tensorNumel * chunkBaseStride)
    ) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        newStrides[viewD] = viewNumel * chunkBaseStride;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (tensorD > 0) {
        chunkBaseStride = oldStrides[tensorD - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return null;
  return newStrides;
}

/**
 * Merges adjacent dims that are contiguous with each other in every operand and drops size-1 dims,
 * so common layouts become one flat run (kernels then loop, or index, over fewer dims). Shared by
 * every backend's strided iteration. `strides[k][d]` is operand k's stride along merged dim d.
 */
export function coalesceDims(
  shape: readonly number[],
  operands: readonly { readonly strides: readonly number[] }[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = operands.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && operands.every((op, k) => outStrides[k][last] === op.strides[d] * shape[d])) {
      outShape[last] *= shape[d];
      operands.forEach((op, k) => {
        outStrides[k][last] = op.strides[d];
      });
    } else {
      outShape.push(shape[d]);
      operands.forEach((op, k) => {
        outStrides[k].push(op.strides[d]);
      });
    }
  }
  return { shape: outShape, strides: outStrides };
}
