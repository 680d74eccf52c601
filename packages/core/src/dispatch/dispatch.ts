// What every op does around a kernel call: find the backend, check devices and dtypes with errors
// that name the op, allocate outputs, and present operands to kernels as strided views.
import type { Backend, KernelTensor } from '../backend/kernels.js';
import { backendFor, canonicalDevice, type Device, getDefaultDevice } from '../backend/registry.js';
import type { DType } from '../dtype/dtype.js';
import { contiguousStrides, formatShape, numel } from '../shape/shape.js';
import { Storage } from '../tensor/storage.js';
import { Tensor } from '../tensor/tensor.js';

export function resolveDevice(device?: Device): Device {
  return canonicalDevice(device ?? getDefaultDevice());
}

/** A new contiguous tensor with uninitialised contents (core always fills it through a kernel). */
export function emptyTensor(shape: readonly number[], dtype: DType, device: Device): Tensor {
  const backend = backendFor(device);
  if (!backend.storageDTypes.has(dtype)) {
    throw new TypeError(
      `dtype ${dtype} is not supported on device '${device}' (it stores ${[...backend.storageDTypes].join(', ')})`,
    );
  }
  const storage = new Storage(backend, canonicalDevice(device), dtype, numel(shape));
  return new Tensor(storage, [...shape], contiguousStrides(shape), 0);
}

export function backendOf(t: Tensor): Backend {
  return t.storage.backend;
}

/** All tensor operands of one op must live on one device; the error names both. */
export function commonDevice(op: string, tensors: readonly (Tensor | null | undefined)[]): Device {
  let device: Device | undefined;
  for (const t of tensors) {
    if (!t) continue;
    if (device === undefined) device = t.device;
    else if (t.device !== device) {
      throw new Error(
        `${op}: expected all tensors to be on the same device, but found at least two devices, '${device}' and '${t.device}'`,
      );
    }
  }
  return device ?? resolveDevice();
}

/** Arithmetic kernels run only on dtypes the backend computes in; the error says how to convert. */
export function requireCompute(op: string, device: Device, dtype: DType): Backend {
  const backend = backendFor(device);
  if (!backend.computeDTypes.has(dtype)) {
    const fallback = backend.computeDTypes.has('float32') ? " Convert first, e.g. .to('float32')." : '';
    throw new TypeError(
      `${op}: dtype ${dtype} is not supported for computation on device '${device}' ` +
        `(supported: ${[...backend.computeDTypes].join(', ')}).${fallback}`,
    );
  }
  return backend;
}

/** The kernel view of `t` broadcast to `shape`: broadcast dims get stride 0. */
export function broadcastKernel(t: Tensor, shape: readonly number[]): KernelTensor {
  const k = t.kernel;
  if (t.ndim === shape.length && t.shape.every((d, i) => d === shape[i])) return k;
  const lead = shape.length - t.ndim;
  const strides = shape.map((d, i) => {
    if (i < lead) return 0;
    const src = t.shape[i - lead];
    if (src === d) return t.strides[i - lead];
    if (src === 1) return 0;
    throw new Error(`cannot broadcast ${formatShape(t.shape)} to ${formatShape(shape)}`);
  });
  return { ...k, shape, strides };
}

/** `t` converted to `dtype` (a copy) or `t` itself when it already has it. Not differentiable. */
export function castTo(t: Tensor, dtype: DType): Tensor {
  if (t.dtype === dtype) return t;
  const out = emptyTensor(t.shape, dtype, t.device);
  backendOf(t).copy(t.kernel, out.kernel);
  return out;
}

/** A 0-d tensor holding `value`, used for scalar operands. */
export function scalarTensor(value: number | boolean, dtype: DType, device: Device): Tensor {
  const out = emptyTensor([], dtype, device);
  backendFor(device).fill(out.kernel, Number(value));
  return out;
}

/** Disposes the temporaries an op made, leaving its inputs alone. */
export function disposeTemps(temps: readonly Tensor[], keep: readonly (Tensor | number | boolean)[]): void {
  for (const t of temps) if (!keep.includes(t)) t.dispose();
}
