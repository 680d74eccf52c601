// IDX files (the MNIST / Fashion-MNIST format, http://yann.lecun.com/exdb/mnist/ "FILE FORMATS"):
//   bytes 0-1  zero
//   byte  2    element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
//   byte  3    number of dimensions d
//   then d big-endian uint32 sizes, then the elements, big-endian, row-major.
// The sizes are checked against the file length, so a truncated download is an error that says
// how many bytes are missing, never a short or garbled tensor.

import type { Device, Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { maybeGunzip } from '../io/gzip.js';
import { type ByteSource, readBytes, sourceName } from '../io/source.js';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  /** Elements in host order, row-major. */
  data: IdxData;
}

const TYPES: Record<number, { dtype: IdxDType; size: number }> = {
  8: { dtype: 'uint8', size: 1 },
  9: { dtype: 'int8', size: 1 },
  11: { dtype: 'int16', size: 2 },
  12: { dtype: 'int32', size: 4 },
  13: { dtype: 'float32', size: 4 },
  14: { dtype: 'float64', size: 8 },
};

function hex(b: number): string {
  return `0x${b.toString(16).padStart(2, '0')}`;
}

/** Parses an uncompressed IDX file. `name` (the file) prefixes error messages. */
export function parseIdx(bytes: Uint8Array, name = '<bytes>'): IdxArray {
  const fail = (message: string) => new Error(`readIdx: ${name}: ${message}`);
  if (bytes.length < 4)
    throw fail(`too short for an IDX header (${bytes.length} bytes; the header alone is at least 4)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw fail(`not an IDX file: it starts with ${hex(bytes[0])} ${hex(bytes[1])}, expected 0x00 0x00`);
  }
  const type = TYPES[bytes[2]];
  if (!type) {
    throw fail(`unknown IDX element type ${hex(bytes[2])} (expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e)`);
  }
  const ndim = bytes[3];
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw fail(
      `truncated header: ${ndim} dimensions need ${headerBytes} header bytes, the file has ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = count * type.size;
  const actual = bytes.length - headerBytes;
  const declared = `the header declares [${shape.join(', ')}] ${type.dtype} (${expected} bytes of data)`;
  if (actual < expected)
    throw fail(`truncated: ${declared} but only ${actual} bytes follow the ${headerBytes}-byte header`);
  if (actual > expected)
    throw fail(
      `${declared} but ${actual} bytes follow the header (${actual - expected} unexpected trailing bytes)`,
    );

  const data = decode(view, headerBytes, count, type.dtype);
  return { dtype: type.dtype, shape, data };
}

function decode(view: DataView, offset: number, count: number, dtype: IdxDType): IdxData {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(view.buffer, view.byteOffset + offset, count).slice();
    case 'int8':
      return new Int8Array(view.buffer, view.byteOffset + offset, count).slice();
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

export interface ReadIdxOptions {
  /** Name used in error messages when `source` is bytes. */
  name?: string;
}

/** Reads an IDX file, gzipped (.gz, detected by its magic bytes) or not, from a path, URL or bytes. */
export async function readIdx(source: ByteSource, options: ReadIdxOptions = {}): Promise<IdxArray> {
  const name = sourceName(source, options.name);
  const raw = await readBytes(source, 'readIdx');
  return parseIdx(await maybeGunzip(raw, `readIdx: ${name}`), name);
}

/** An IDX array as a tensor: int16 widens to int32 (Kiln has no int16); other types keep theirs. */
export function idxToTensor(idx: IdxArray, options: { device?: Device } = {}): Tensor {
  const dtype = idx.dtype === 'int16' ? 'int32' : idx.dtype;
  const device = options.device ?? k.getDefaultDevice();
  const values = idx.data instanceof Int16Array ? Int32Array.from(idx.data) : idx.data;
  return k.fromHost(values, idx.shape, dtype, device);
}
