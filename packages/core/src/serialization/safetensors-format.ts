// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian u64
// header length N, N bytes of UTF-8 JSON mapping each tensor name to { dtype, shape, data_offsets }
// (plus an optional "__metadata__" map of strings), then the data buffer, which the offsets index.
import type { DType } from '../dtype/dtype.js';

/** One tensor of a safetensors file: its dtype, shape and raw little-endian bytes (row-major). */
export interface SafetensorsEntry {
  dtype: DType;
  shape: number[];
  /** Raw little-endian bytes; a zero-copy subarray of the file when parsed. */
  data: Uint8Array;
}

/** The header's "__metadata__": free-form string to string pairs (e.g. { format: 'pt' }). */
export type SafetensorsMetadata = Record<string, string>;

export const METADATA_KEY = '__metadata__';

/** The reference implementation refuses headers above 100 MB (`MAX_HEADER_SIZE`, HeaderTooLarge). */
export const MAX_HEADER_BYTES = 100_000_000;

export const DTYPE_CODE: Readonly<Record<DType, string>> = {
  float64: 'F64',
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

// A Map, not an object: a tensor's dtype string from a file must never hit Object.prototype.
export const DTYPE_OF_CODE: ReadonlyMap<string, DType> = new Map(
  (Object.entries(DTYPE_CODE) as [DType, string][]).map(([dtype, code]) => [code, dtype]),
);

/** Codes of the reference `Dtype` enum that Kiln has no dtype for. */
export const UNSUPPORTED_CODES: ReadonlySet<string> = new Set([
  'I16',
  'U16',
  'U32',
  'U64',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'F6_E2M3',
  'F6_E3M2',
  'F4',
  'C64',
]);

/**
 * Write order of the reference `serialize`: tensors sorted by their dtype's position in its `Dtype`
 * enum, descending (I64, F64, F32, I32, BF16, F16, I8, U8, BOOL), then by name. With the header
 * padded to 8 bytes this puts every tensor at an offset that is a multiple of its itemsize.
 */
export const WRITE_RANK: Readonly<Record<DType, number>> = {
  int64: 0,
  float64: 1,
  float32: 2,
  int32: 3,
  bfloat16: 4,
  float16: 5,
  int8: 6,
  uint8: 7,
  bool: 8,
};

/** `safetensors (model.safetensors)` or `safetensors`: the start of every error message. */
export function errorPrefix(source: string | undefined): string {
  return source === undefined ? 'safetensors' : `safetensors (${source})`;
}

/** A tensor name for an error message: quoted, escaped, and cut short if a hostile file made it long. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}...` : name);
}

/** A JSON value for an error message, kept short. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

/** Product of the dims, or undefined when it is not a safe integer (the reference's ValidationOverflow). */
export function checkedNumel(shape: readonly number[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

/** Unpaired UTF-16 surrogates cannot be encoded as UTF-8, so no valid header holds them. */
export function hasLoneSurrogate(text: string): boolean {
  return /\p{Surrogate}/u.test(text);
}

/** Rust's `String` order, which the reference sorts names by: UTF-8 bytes, i.e. code points (not UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (0xD800-0xDFFF) starts a code point above U+FFFF, which sorts after every BMP unit.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
