// Writing a safetensors file in the reference implementation's layout (safetensors/src/tensor.rs
// `prepare`/`serialize`): tensors sorted by dtype (descending alignment) then name, the header as
// compact JSON with "__metadata__" first, padded with spaces to a multiple of 8 bytes so that every
// tensor starts at an offset aligned to its itemsize. The reference writes metadata from a hash
// map in no fixed order; we sort its keys so the same input always gives the same bytes.
import type { DType } from '../dtype/dtype.js';
import { DTYPES, ITEMSIZE } from '../dtype/dtype.js';
import {
  checkedNumel,
  compareCodePoints,
  DTYPE_CODE,
  describeValue,
  hasLoneSurrogate,
  MAX_HEADER_BYTES,
  METADATA_KEY,
  quoteName,
  type SafetensorsEntry,
  type SafetensorsMetadata,
  WRITE_RANK,
} from './safetensors-format.js';

/** What the header needs to know of a tensor: no data. */
export interface TensorDescriptor {
  name: string;
  dtype: DType;
  shape: readonly number[];
}

/** Where each tensor goes: `prefix` is the length prefix plus the padded header. */
export interface SafetensorsLayout {
  prefix: Uint8Array;
  /** Tensors in data-buffer order, with offsets relative to the data buffer. */
  placements: { descriptor: TensorDescriptor; begin: number; end: number }[];
  /** Size of the whole file. */
  byteLength: number;
}

const utf8 = new TextEncoder();

/** Validates names, dtypes, shapes and metadata (errors start with `op`) and lays out the file. */
export function planLayout(
  op: string,
  descriptors: readonly TensorDescriptor[],
  metadata?: SafetensorsMetadata,
): SafetensorsLayout {
  for (const d of descriptors) checkDescriptor(op, d);
  const sorted = [...descriptors].sort(
    (a, b) => WRITE_RANK[a.dtype] - WRITE_RANK[b.dtype] || compareCodePoints(a.name, b.name),
  );

  // Built by hand, not with JSON.stringify of one object: objects put integer-like keys ("0", "1")
  // first, which would break the reference order. JSON.stringify of a string escapes exactly what
  // serde_json escapes (quote, backslash, control characters), so the bytes match the reference.
  const members: string[] = [];
  if (metadata !== undefined) members.push(`"${METADATA_KEY}":${metadataJson(op, metadata)}`);
  const placements: SafetensorsLayout['placements'] = [];
  let offset = 0;
  for (const d of sorted) {
    const end = offset + (checkedNumel(d.shape) as number) * ITEMSIZE[d.dtype];
    members.push(
      `${JSON.stringify(d.name)}:{"dtype":"${DTYPE_CODE[d.dtype]}","shape":[${d.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    placements.push({ descriptor: d, begin: offset, end });
    offset = end;
  }
  const json = utf8.encode(`{${members.join(',')}}`);
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  if (headerLength > MAX_HEADER_BYTES) {
    throw new Error(
      `${op}: the header would be ${headerLength} bytes, above the 100 MB limit readers enforce`,
    );
  }
  const prefix = new Uint8Array(8 + headerLength).fill(0x20, 8 + json.length);
  const view = new DataView(prefix.buffer);
  view.setUint32(0, headerLength % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  prefix.set(json, 8);
  return { prefix, placements, byteLength: prefix.length + offset };
}

function checkDescriptor(op: string, d: TensorDescriptor): void {
  if (typeof d.name !== 'string') {
    throw new TypeError(`${op}: tensor names must be strings, got ${describeValue(d.name)}`);
  }
  const tensor = `${op}: tensor ${quoteName(d.name)}`;
  if (d.name === METADATA_KEY) throw new Error(`${tensor}: the name is reserved for the header's metadata`);
  if (hasLoneSurrogate(d.name)) {
    throw new Error(`${tensor}: the name holds an unpaired UTF-16 surrogate, which UTF-8 cannot encode`);
  }
  if (!(DTYPES as readonly string[]).includes(d.dtype)) {
    throw new Error(
      `${tensor}: unknown dtype ${describeValue(d.dtype)} (expected one of ${DTYPES.join(', ')})`,
    );
  }
  if (!Array.isArray(d.shape) || !d.shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
    throw new Error(
      `${tensor}: shape must be a list of non-negative integers, got ${describeValue(d.shape)}`,
    );
  }
  if (checkedNumel(d.shape) === undefined) {
    throw new Error(`${tensor}: shape [${d.shape.join(', ')}] has more elements than can be addressed`);
  }
}

function metadataJson(op: string, metadata: SafetensorsMetadata): string {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new TypeError(`${op}: metadata must be an object of strings, got ${describeValue(metadata)}`);
  }
  const keys = Object.keys(metadata).sort(compareCodePoints);
  const members = keys.map((key) => {
    const value: unknown = metadata[key];
    if (typeof value !== 'string') {
      throw new TypeError(
        `${op}: metadata value for key ${quoteName(key)} must be a string, got ${describeValue(value)}`,
      );
    }
    if (hasLoneSurrogate(key) || hasLoneSurrogate(value)) {
      throw new Error(
        `${op}: metadata entry ${quoteName(key)} holds an unpaired UTF-16 surrogate, which UTF-8 cannot encode`,
      );
    }
    return `${JSON.stringify(key)}:${JSON.stringify(value)}`;
  });
  return `{${members.join(',')}}`;
}

/**
 * Serializes raw entries into a complete safetensors file, in the reference layout. Each entry's
 * `data` must hold exactly numel x itemsize little-endian bytes.
 */
export function serializeSafetensors(
  entries: Record<string, SafetensorsEntry> | Map<string, SafetensorsEntry>,
  metadata?: SafetensorsMetadata,
): Uint8Array {
  const op = 'serializeSafetensors';
  const list = entries instanceof Map ? [...entries] : Object.entries(entries);
  const byName = new Map<string, SafetensorsEntry>();
  const descriptors: TensorDescriptor[] = [];
  for (const [name, entry] of list) {
    if (typeof entry !== 'object' || entry === null) {
      throw new TypeError(
        `${op}: tensor ${quoteName(String(name))}: expected { dtype, shape, data }, got ${describeValue(entry)}`,
      );
    }
    descriptors.push({ name, dtype: entry.dtype, shape: entry.shape });
    byName.set(name, entry);
  }
  const layout = planLayout(op, descriptors, metadata);
  const out = new Uint8Array(layout.byteLength);
  out.set(layout.prefix);
  for (const { descriptor, begin, end } of layout.placements) {
    const data = (byName.get(descriptor.name) as SafetensorsEntry).data;
    if (!(data instanceof Uint8Array) || data.byteLength !== end - begin) {
      const got = data instanceof Uint8Array ? `${data.byteLength} bytes` : describeValue(data);
      throw new Error(
        `${op}: tensor ${quoteName(descriptor.name)}: data must be a Uint8Array of ${end - begin} bytes ` +
          `(dtype ${descriptor.dtype}, shape [${descriptor.shape.join(', ')}]), got ${got}`,
      );
    }
    out.set(data, layout.prefix.length + begin);
  }
  return out;
}
