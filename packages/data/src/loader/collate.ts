// defaultCollate: a list of samples -> one batch, following torch.utils.data.default_collate.
// Tensors are stacked along a new first dimension; numbers become a tensor (int32 when all are
// integers, else float32: Kiln's default dtypes, where PyTorch would pick int64/float64); booleans a
// bool tensor; typed arrays a [B, length] tensor of their dtype; strings stay a string[]; arrays
// (tuples) and plain objects are collated position by position / key by key, recursively.
import * as k from '@kiln/core';
import { type DType, isTensor, type Tensor } from '@kiln/core';

type HostArray = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array | Uint8ClampedArray;

/** The batch type `defaultCollate` makes from samples of type S. */
export type Collated<S> = S extends Tensor | number | boolean | HostArray
  ? Tensor
  : S extends string
    ? string[]
    : S extends readonly unknown[]
      ? { -readonly [K in keyof S]: Collated<S[K]> }
      : S extends object
        ? { -readonly [K in keyof S]: Collated<S[K]> }
        : never;

function hostArrayDType(a: ArrayBufferView): DType | undefined {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return 'uint8';
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function collateAt(samples: readonly unknown[], path: string): unknown {
  const first = samples[0];
  const mismatch = samples.findIndex((s) => describe(s) !== describe(first));
  if (mismatch > 0) {
    throw new TypeError(
      `defaultCollate: ${path} is a ${describe(first)} in sample 0 but a ${describe(samples[mismatch])} in sample ${mismatch}`,
    );
  }
  if (isTensor(first)) {
    const tensors = samples as Tensor[];
    const bad = tensors.findIndex(
      (t) => t.ndim !== first.ndim || t.shape.some((s, i) => s !== first.shape[i]),
    );
    if (bad > 0) {
      throw new Error(
        `defaultCollate: ${path} cannot be stacked: shape [${first.shape.join(', ')}] in sample 0 but ` +
          `[${tensors[bad].shape.join(', ')}] in sample ${bad} (use padSequences or a custom collate)`,
      );
    }
    return k.stack(tensors);
  }
  if (typeof first === 'number') {
    const values = samples as number[];
    return k.tensor(values, { dtype: values.every(Number.isInteger) ? 'int32' : 'float32' });
  }
  if (typeof first === 'boolean') return k.tensor(samples as boolean[], { dtype: 'bool' });
  if (typeof first === 'string') return [...(samples as string[])];
  if (ArrayBuffer.isView(first)) {
    const dtype = hostArrayDType(first);
    if (!dtype)
      throw new TypeError(`defaultCollate: ${path} is a ${describe(first)}, which has no tensor dtype`);
    const arrays = samples as HostArray[];
    const bad = arrays.findIndex((a) => a.length !== (first as HostArray).length);
    if (bad > 0) {
      throw new Error(
        `defaultCollate: ${path} has length ${(first as HostArray).length} in sample 0 but ${arrays[bad].length} in sample ${bad}`,
      );
    }
    const n = (first as HostArray).length;
    const flat = new (first.constructor as new (n: number) => HostArray)(arrays.length * n);
    for (const [i, a] of arrays.entries()) flat.set(a, i * n);
    return k.fromHost(
      flat instanceof Uint8ClampedArray ? new Uint8Array(flat.buffer) : flat,
      [arrays.length, n],
      dtype,
      k.getDefaultDevice(),
    );
  }
  if (Array.isArray(first)) {
    const arrays = samples as unknown[][];
    const bad = arrays.findIndex((a) => a.length !== first.length);
    if (bad > 0) {
      throw new Error(
        `defaultCollate: each element in list of batch should be of equal size: ${path} has ${first.length} ` +
          `elements in sample 0 but ${arrays[bad].length} in sample ${bad}`,
      );
    }
    return first.map((_, j) =>
      collateAt(
        arrays.map((a) => a[j]),
        `${path}[${j}]`,
      ),
    );
  }
  if (isPlainObject(first)) {
    const keys = Object.keys(first);
    const out: Record<string, unknown> = {};
    samples.forEach((s, i) => {
      const sk = Object.keys(s as object);
      if (sk.length !== keys.length || sk.some((key) => !(key in first))) {
        throw new Error(
          `defaultCollate: ${path} has keys {${keys.join(', ')}} in sample 0 but {${sk.join(', ')}} in sample ${i}`,
        );
      }
    });
    for (const key of keys)
      out[key] = collateAt(
        samples.map((s) => (s as Record<string, unknown>)[key]),
        `${path}.${key}`,
      );
    return out;
  }
  throw new TypeError(
    `defaultCollate: ${path} is ${describe(first)}; samples must contain tensors, numbers, booleans, strings, ` +
      'typed arrays, arrays or plain objects (pass a custom collate for other types)',
  );
}

/** Collates samples into a batch; see the module comment for the rules. */
export function defaultCollate<S>(samples: readonly S[]): Collated<S> {
  if (samples.length === 0) throw new Error('defaultCollate: cannot collate an empty list of samples');
  return collateAt(samples, 'sample') as Collated<S>;
}

/** Calls `fn` on every tensor in a tensor / array / plain-object tree (what defaultCollate makes). */
export function forEachTensor(value: unknown, fn: (t: Tensor) => void): void {
  if (isTensor(value)) fn(value);
  else if (Array.isArray(value)) for (const v of value) forEachTensor(v, fn);
  else if (isPlainObject(value)) for (const v of Object.values(value)) forEachTensor(v, fn);
}

/** Disposes every tensor in a batch (nested arrays and plain objects included). */
export function disposeBatch(batch: unknown): void {
  forEachTensor(batch, (t) => {
    if (!t.isDisposed) t.dispose();
  });
}
