// Tensor factories: from JS data, constants, ranges, and the `*Like` family.
import type { Device } from '../backend/registry.js';
import { backendFor } from '../backend/registry.js';
import { emptyTensor, resolveDevice } from '../dispatch/dispatch.js';
import {
  assertDType,
  DEFAULT_FLOAT,
  DEFAULT_INT,
  type DType,
  hostArrayFor,
  type TypedArray,
} from '../dtype/dtype.js';
import { numel } from '../shape/shape.js';
import type { Tensor } from '../tensor/tensor.js';

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
  requiresGrad?: boolean;
}

export type NestedNumbers = number | boolean | readonly NestedNumbers[];
export type TensorData = NestedNumbers | TypedArray;

function finish(t: Tensor, opts: TensorOptions | undefined): Tensor {
  if (opts?.requiresGrad) t.requiresGrad_(true);
  return t;
}

function dtypeOfTypedArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  throw new TypeError(
    'tensor: Uint16Array data is ambiguous; pass float16/bfloat16 values as a Float32Array with { dtype }',
  );
}

/** Shape of nested arrays, checking that they are rectangular. */
function nestedShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  let cur: NestedNumbers = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flatten(data: NestedNumbers, shape: readonly number[], out: number[], depth = 0): void {
  if (depth === shape.length) {
    if (Array.isArray(data))
      throw new Error('tensor: nested arrays are ragged (expected a number at this depth)');
    out.push(Number(data));
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new Error(
      `tensor: expected a sequence of length ${shape[depth]} at dim ${depth} (got ${Array.isArray(data) ? data.length : typeof data})`,
    );
  }
  for (const d of data) flatten(d, shape, out, depth + 1);
}

/** Copies host values of any numeric array into the host array type of `dtype`. */
export function toHostArray(values: ArrayLike<number> | ArrayLike<bigint>, dtype: DType): TypedArray {
  const out = hostArrayFor(dtype, values.length);
  if (out instanceof BigInt64Array) {
    for (let i = 0; i < values.length; i++) out[i] = BigInt(Math.trunc(Number(values[i])));
  } else if (dtype === 'bool') {
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]) ? 1 : 0;
  } else {
    for (let i = 0; i < values.length; i++) out[i] = Number(values[i]);
  }
  return out;
}

/** A tensor holding `values` (row-major) with the given shape, dtype and device. */
export function fromHost(
  values: TypedArray | ArrayLike<number>,
  shape: readonly number[],
  dtype: DType,
  device: Device,
): Tensor {
  const n = numel(shape);
  if (values.length !== n)
    throw new Error(`tensor: ${values.length} values do not fill shape [${shape.join(', ')}] (${n})`);
  const host =
    (dtype === 'float32' && values instanceof Float32Array) ||
    (dtype === 'float64' && values instanceof Float64Array) ||
    (dtype === 'int32' && values instanceof Int32Array) ||
    (dtype === 'int64' && values instanceof BigInt64Array)
      ? (values as TypedArray)
      : toHostArray(values as ArrayLike<number>, dtype);
  const t = emptyTensor(shape, dtype, device);
  backendFor(device).write(t.storage.buffer, dtype, host);
  return t;
}

/**
 * `k.tensor(data, opts)`. As in PyTorch, the dtype is inferred: booleans -> bool, all-integer
 * numbers -> the default integer dtype (int32), otherwise float32; typed arrays keep theirs.
 */
export function tensor(data: TensorData, opts?: TensorOptions): Tensor {
  const device = resolveDevice(opts?.device);
  if (ArrayBuffer.isView(data)) {
    const arr = data as TypedArray;
    const dtype = opts?.dtype ? assertDType('tensor', opts.dtype) : dtypeOfTypedArray(arr);
    return finish(fromHost(arr, [arr.length], dtype, device), opts);
  }
  const shape = nestedShape(data);
  const flat: number[] = [];
  flatten(data, shape, flat);
  let dtype = opts?.dtype;
  if (dtype === undefined) {
    const leaf = firstLeaf(data);
    if (typeof leaf === 'boolean') dtype = 'bool';
    else if (flat.length > 0 && flat.every(Number.isInteger)) {
      // Integers that do not fit int32 are int64 (never wrapped silently).
      dtype = flat.every((v) => v >= -2147483648 && v <= 2147483647) ? DEFAULT_INT : 'int64';
    } else dtype = DEFAULT_FLOAT;
  }
  return finish(fromHost(flat, shape, assertDType('tensor', dtype), device), opts);
}

function firstLeaf(d: NestedNumbers): number | boolean | undefined {
  let cur: NestedNumbers = d;
  while (Array.isArray(cur)) {
    if (cur.length === 0) return undefined;
    cur = cur[0];
  }
  return cur as number | boolean;
}

export type ShapeArg = number | readonly number[];

function checkShape(op: string, shape: readonly number[]): number[] {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new Error(`${op}: invalid shape [${shape.join(', ')}] (sizes must be non-negative integers)`);
  }
  return [...shape];
}

export function full(shape: ShapeArg, value: number | boolean, opts?: TensorOptions): Tensor {
  const s = checkShape('full', typeof shape === 'number' ? [shape] : shape);
  // As torch.full: the fill value decides the dtype (bool, integer or float).
  const dtype =
    opts?.dtype ??
    (typeof value === 'boolean' ? 'bool' : Number.isInteger(value) ? DEFAULT_INT : DEFAULT_FLOAT);
  const device = resolveDevice(opts?.device);
  const t = emptyTensor(s, dtype, device);
  backendFor(device).fill(t.kernel, Number(value));
  return finish(t, opts);
}

export function zeros(shape: ShapeArg, opts?: TensorOptions): Tensor {
  return full(shape, 0, { ...opts, dtype: opts?.dtype ?? DEFAULT_FLOAT });
}

export function ones(shape: ShapeArg, opts?: TensorOptions): Tensor {
  return full(shape, 1, { ...opts, dtype: opts?.dtype ?? DEFAULT_FLOAT });
}

/** Uninitialised memory in PyTorch; here zero-filled, so it is never read uninitialised. */
export function empty(shape: ShapeArg, opts?: TensorOptions): Tensor {
  return zeros(shape, opts);
}

function likeOptions(t: Tensor, opts?: TensorOptions): TensorOptions {
  return {
    dtype: opts?.dtype ?? t.dtype,
    device: opts?.device ?? t.device,
    requiresGrad: opts?.requiresGrad,
  };
}

export function zerosLike(t: Tensor, opts?: TensorOptions): Tensor {
  return full(t.shape, 0, likeOptions(t, opts));
}

export function onesLike(t: Tensor, opts?: TensorOptions): Tensor {
  return full(t.shape, 1, likeOptions(t, opts));
}

export function fullLike(t: Tensor, value: number, opts?: TensorOptions): Tensor {
  return full(t.shape, value, likeOptions(t, opts));
}

/** `arange(end)` or `arange(start, end, step?)`; integer arguments give int32, like PyTorch's integer default. */
export function arange(startOrEnd: number, end?: number, step = 1, opts?: TensorOptions): Tensor {
  const start = end === undefined ? 0 : startOrEnd;
  const stop = end === undefined ? startOrEnd : end;
  if (step === 0) throw new Error('arange: step must be nonzero');
  if ((stop - start) / step < 0)
    throw new Error(
      `arange: upper bound and larger bound inconsistent with step sign (start ${start}, end ${stop}, step ${step})`,
    );
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = opts?.dtype ?? ([start, stop, step].every(Number.isInteger) ? DEFAULT_INT : DEFAULT_FLOAT);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = start + i * step;
  return finish(fromHost(values, [n], dtype, resolveDevice(opts?.device)), opts);
}

export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor {
  if (!Number.isInteger(steps) || steps < 0)
    throw new Error(`linspace: number of steps must be non-negative (got ${steps})`);
  const values = new Float64Array(steps);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  // PyTorch fills the second half backwards from `end` so both endpoints are exact.
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) values[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
  if (steps === 1) values[0] = start;
  return finish(fromHost(values, [steps], opts?.dtype ?? DEFAULT_FLOAT, resolveDevice(opts?.device)), opts);
}

export function eye(n: number, m: number = n, opts?: TensorOptions): Tensor {
  const values = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) values[i * m + i] = 1;
  return finish(fromHost(values, [n, m], opts?.dtype ?? DEFAULT_FLOAT, resolveDevice(opts?.device)), opts);
}
