// safetensors, Kiln's native checkpoint format: tensors <-> files or bytes. Parsing and layout
// live in safetensors-parse.ts and safetensors-layout.ts; this file moves tensors in and out.

import type { Device } from '../backend/registry.js';
import { backendFor, ready } from '../backend/registry.js';
import { resolveDevice } from '../dispatch/dispatch.js';
import { fromHost } from '../ops/creation.js';
import { contiguousStrides, numel } from '../shape/shape.js';
import { Storage } from '../tensor/storage.js';
import { isTensor, Tensor } from '../tensor/tensor.js';
import { loadFs, writeAll, writeFileAtomic } from './atomic-write.js';
import { bytesFromHostArray, hostArrayFromBytes, zeroCopyHostView } from './host-bytes.js';
import {
  describeValue,
  quoteName,
  type SafetensorsEntry,
  type SafetensorsMetadata,
} from './safetensors-format.js';
import { planLayout, type TensorDescriptor } from './safetensors-layout.js';
import { parseSafetensors } from './safetensors-parse.js';

export type { SafetensorsEntry, SafetensorsMetadata } from './safetensors-format.js';
export { serializeSafetensors } from './safetensors-layout.js';
export { parseSafetensors } from './safetensors-parse.js';

/**
 * Saves tensors as safetensors. With a `path` (Node) the file is replaced atomically (temporary
 * file, fsync, rename) and nothing is returned; without one (browsers) the file's bytes are
 * returned. Tensors are read one at a time, so a file is written with one tensor's host copy in
 * memory at a time. Non-contiguous views are saved as their contiguous values.
 */
export async function saveSafetensors(
  path: string | undefined,
  record: Record<string, Tensor>,
  metadata?: SafetensorsMetadata,
): Promise<Uint8Array | undefined> {
  const op = 'saveSafetensors';
  if (path !== undefined && (typeof path !== 'string' || path === '')) {
    throw new TypeError(
      `${op}: path must be a non-empty string (or undefined to get the bytes), got ${describeValue(path)}`,
    );
  }
  if (typeof record !== 'object' || record === null) {
    throw new TypeError(`${op}: expected a record of tensors, got ${describeValue(record)}`);
  }
  const tensors = new Map<string, Tensor>();
  const descriptors: TensorDescriptor[] = [];
  for (const [name, t] of Object.entries(record)) {
    if (!isTensor(t)) {
      throw new TypeError(`${op}: ${quoteName(name)} is not a Tensor (got ${describeValue(t)})`);
    }
    tensors.set(name, t);
    descriptors.push({ name, dtype: t.dtype, shape: [...t.shape] });
  }
  const layout = planLayout(op, descriptors, metadata);
  const dataStart = layout.prefix.length;
  const bytesOf = async (d: TensorDescriptor): Promise<Uint8Array> => {
    const t = tensors.get(d.name) as Tensor;
    return bytesFromHostArray(d.dtype, await t.data(), numel(d.shape), `${op}: tensor ${quoteName(d.name)}`);
  };

  if (path === undefined) {
    const out = new Uint8Array(layout.byteLength);
    out.set(layout.prefix);
    for (const { descriptor, begin } of layout.placements) {
      out.set(await bytesOf(descriptor), dataStart + begin);
    }
    return out;
  }
  await writeFileAtomic(path, async (file) => {
    await writeAll(file, layout.prefix, 0);
    for (const { descriptor, begin } of layout.placements) {
      await writeAll(file, await bytesOf(descriptor), dataStart + begin);
    }
  });
  return undefined;
}

/**
 * Loads a safetensors file (a path, in Node) or its bytes into tensors on `options.device` (the
 * default device if omitted). On a backend that can adopt host memory (CPU), tensors whose data is
 * aligned in the file are views of the file's bytes, not copies: loading from a Uint8Array shares
 * its memory with the tensors, so changing one changes the other (pass `bytes.slice()` to avoid it).
 */
export async function loadSafetensors(
  pathOrBytes: string | Uint8Array,
  options?: { device?: Device },
): Promise<Record<string, Tensor>> {
  let bytes: Uint8Array;
  let source: string | undefined;
  if (typeof pathOrBytes === 'string') {
    const fs = await loadFs();
    bytes = await fs.readFile(pathOrBytes);
    source = pathOrBytes;
  } else if (pathOrBytes instanceof Uint8Array) {
    bytes = pathOrBytes;
  } else {
    throw new TypeError(
      `loadSafetensors: expected a file path or a Uint8Array, got ${describeValue(pathOrBytes)}`,
    );
  }
  const { tensors } = parseSafetensors(bytes, source);
  const device = resolveDevice(options?.device);
  await ready(device);

  const out: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  try {
    for (const [name, entry] of tensors) {
      const t = entryToTensor(
        entry,
        device,
        `loadSafetensors${source === undefined ? '' : ` (${source})`}: tensor ${quoteName(name)}`,
      );
      made.push(t);
      // defineProperty: a tensor named "__proto__" must become a property, not the prototype.
      Object.defineProperty(out, name, { value: t, enumerable: true, writable: true, configurable: true });
    }
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
  return out;
}

function entryToTensor(entry: SafetensorsEntry, device: Device, what: string): Tensor {
  const backend = backendFor(device);
  const { dtype, shape, data } = entry;
  if (!backend.storageDTypes.has(dtype)) {
    throw new TypeError(
      `${what}: dtype ${dtype} cannot be stored on device '${device}' (it stores ${[...backend.storageDTypes].join(', ')})`,
    );
  }
  const view = backend.adopt ? zeroCopyHostView(dtype, data) : undefined;
  if (backend.adopt && view) {
    const storage = new Storage(backend, device, dtype, view.length, backend.adopt(dtype, view));
    return new Tensor(storage, shape, contiguousStrides(shape), 0);
  }
  return fromHost(hostArrayFromBytes(dtype, data), shape, dtype, device);
}
