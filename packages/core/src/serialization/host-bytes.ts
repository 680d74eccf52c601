// Raw little-endian tensor bytes <-> the host arrays tensors are created from and read into
// (`hostArrayFor`: float16/bfloat16 as decoded Float32Array, int64 as BigInt64Array, bool as 0/1
// bytes). Typed arrays use the host's byte order, so a big-endian host swaps bytes on the way.
import type { DType, TypedArray } from '../dtype/dtype.js';
import { ITEMSIZE } from '../dtype/dtype.js';
import {
  bfloat16BitsToFloat32,
  float16BitsToFloat32,
  float32ToBfloat16Bits,
  float32ToFloat16Bits,
} from '../dtype/half.js';

export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type ArrayConstructorOf =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor;

/** The array type whose elements are the dtype's stored elements (16-bit floats as their bits). */
const RAW_ARRAY: Record<DType, ArrayConstructorOf> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  bfloat16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** The array type of `hostArrayFor(dtype)`. */
const HOST_ARRAY: Record<DType, ArrayConstructorOf> = {
  ...RAW_ARRAY,
  float16: Float32Array,
  bfloat16: Float32Array,
};

function isBoolBytes(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 1) return false;
  return true;
}

/**
 * A host array that IS `bytes` (no copy), where that is possible: a little-endian host, an offset
 * aligned to the itemsize, a dtype whose host array holds raw elements (not float16/bfloat16, which
 * are held decoded), and for bool only bytes that are 0 or 1. Otherwise undefined.
 */
export function zeroCopyHostView(dtype: DType, bytes: Uint8Array): TypedArray | undefined {
  const size = ITEMSIZE[dtype];
  if (!LITTLE_ENDIAN_HOST || HOST_ARRAY[dtype] !== RAW_ARRAY[dtype] || bytes.byteOffset % size !== 0) {
    return undefined;
  }
  if (dtype === 'bool' && !isBoolBytes(bytes)) return undefined;
  return new RAW_ARRAY[dtype](bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
}

/** `bytes` copied into a fresh buffer, each element in host byte order. */
function hostOrderCopy(bytes: Uint8Array, size: number): ArrayBuffer {
  const copy = new Uint8Array(bytes);
  if (!LITTLE_ENDIAN_HOST && size > 1) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  return copy.buffer;
}

/** A copy of raw little-endian `bytes` as `hostArrayFor(dtype)` (16-bit floats decoded, bools as 0/1). */
export function hostArrayFromBytes(dtype: DType, bytes: Uint8Array): TypedArray {
  const raw = new RAW_ARRAY[dtype](hostOrderCopy(bytes, ITEMSIZE[dtype]));
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const decode = dtype === 'float16' ? float16BitsToFloat32 : bfloat16BitsToFloat32;
    const out = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = decode(raw[i] as number);
    return out;
  }
  if (dtype === 'bool') for (let i = 0; i < raw.length; i++) raw[i] = raw[i] ? 1 : 0;
  return raw;
}

/**
 * Raw little-endian bytes of `host`, the contiguous values `await t.data()` returned for a tensor
 * of `dtype`. On a little-endian host most dtypes need no copy: the bytes view `host`, which the
 * caller owns. `what` names the tensor in errors.
 */
export function bytesFromHostArray(dtype: DType, host: TypedArray, numel: number, what: string): Uint8Array {
  const expected = HOST_ARRAY[dtype];
  if (!(host instanceof expected) || host.length !== numel) {
    throw new Error(
      `${what}: reading the tensor gave ${host?.constructor?.name ?? typeof host}(${host?.length}), ` +
        `expected ${expected.name}(${numel}) for dtype ${dtype}`,
    );
  }
  let raw: TypedArray = host;
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const encode = dtype === 'float16' ? float32ToFloat16Bits : float32ToBfloat16Bits;
    const bits = new Uint16Array(numel);
    for (let i = 0; i < numel; i++) bits[i] = encode(host[i] as number);
    raw = bits;
  } else if (dtype === 'bool' && !isBoolBytes(host as Uint8Array)) {
    raw = (host as Uint8Array).map((v) => (v ? 1 : 0));
  }
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  return LITTLE_ENDIAN_HOST ? bytes : new Uint8Array(hostOrderCopy(bytes, ITEMSIZE[dtype]));
}
