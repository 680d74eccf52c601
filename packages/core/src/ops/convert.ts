// Reading values back to JS, and moving tensors between dtypes and devices.
import { record } from '../autograd/record.js';
import { backendFor, canonicalDevice, type Device } from '../backend/registry.js';
import { backendOf, castTo, emptyTensor } from '../dispatch/dispatch.js';
import { DTYPES, type DType, isFloating, type TypedArray } from '../dtype/dtype.js';
import type { Tensor } from '../tensor/tensor.js';

export type NestedArray = number | NestedArray[];

export function readData(t: Tensor): Promise<TypedArray> {
  return backendOf(t).read(t.kernel);
}

export function readDataSync(t: Tensor): TypedArray {
  const backend = backendOf(t);
  if (!backend.readSync) {
    throw new Error(
      `dataSync: device '${t.device}' cannot block until its queued work finishes; use \`await t.data()\` ` +
        '(or toArray()/item()) instead',
    );
  }
  return backend.readSync(t.kernel);
}

/** Rebuilds nested JS arrays from row-major values (int64 values become numbers). */
export function nest(values: TypedArray, shape: readonly number[]): NestedArray {
  const get = (i: number) => Number(values[i]);
  if (shape.length === 0) return get(0);
  let pos = 0;
  const build = (depth: number): NestedArray[] => {
    const n = shape[depth];
    const out: NestedArray[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = depth === shape.length - 1 ? get(pos++) : build(depth + 1);
    return out;
  };
  return build(0);
}

export function itemOf(t: Tensor, values: TypedArray): number {
  if (values.length !== 1) {
    throw new Error(
      `item: a Tensor with ${values.length} elements cannot be converted to a number (shape [${t.shape.join(', ')}])`,
    );
  }
  return Number(values[0]);
}

function isDType(s: string): s is DType {
  return (DTYPES as readonly string[]).includes(s);
}

/** Copies `t` (any layout) to a contiguous tensor on `device` with `dtype`. */
function transfer(t: Tensor, device: Device, dtype: DType): Tensor {
  const onSource = castTo(t, dtype);
  if (onSource.device === device) return onSource === t ? t : onSource;
  const src = backendOf(onSource);
  if (!src.readSync) {
    throw new Error(
      `to: copying from '${t.device}' to '${device}' needs an asynchronous read; use \`await k.toDeviceAsync(t, '${device}')\``,
    );
  }
  const host = src.readSync(onSource.kernel);
  if (onSource !== t) onSource.dispose();
  const out = emptyTensor(t.shape, dtype, device);
  backendFor(device).write(out.storage.buffer, dtype, host);
  return out;
}

/**
 * `t.to(device | dtype | { device, dtype })`: a copy when anything changes, `t` itself otherwise.
 * Differentiable between floating dtypes and across devices, as in PyTorch.
 */
export function to(t: Tensor, target: Device | DType | { device?: Device; dtype?: DType }): Tensor {
  const spec =
    typeof target === 'string' ? (isDType(target) ? { dtype: target } : { device: target }) : target;
  const device = spec.device ? canonicalDevice(spec.device) : t.device;
  const dtype = spec.dtype ?? t.dtype;
  if (device === t.device && dtype === t.dtype) return t;
  const out = transfer(t, device, dtype);
  if (!isFloating(dtype)) return out;
  const fromDevice = t.device;
  const fromDtype = t.dtype;
  return record('ToCopyBackward', out, [isFloating(fromDtype) ? t : null], (g) => [
    to(g, { device: fromDevice, dtype: fromDtype }),
  ]);
}

/** Device-to-device copy for backends that read asynchronously (e.g. WebGPU -> CPU). */
export async function toDeviceAsync(t: Tensor, device: Device, dtype: DType = t.dtype): Promise<Tensor> {
  const target = canonicalDevice(device);
  if (target === t.device || backendOf(t).readSync) return to(t, { device: target, dtype });
  const onSource = castTo(t, dtype);
  const host = await backendOf(onSource).read(onSource.kernel);
  if (onSource !== t) onSource.dispose();
  const out = emptyTensor(t.shape, dtype, target);
  backendFor(target).write(out.storage.buffer, dtype, host);
  return out;
}
