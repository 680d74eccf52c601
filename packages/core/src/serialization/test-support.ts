// Shared by the *.test.ts files beside it (not part of the package's API): the reference fixtures
// written by test-fixtures/safetensors/make_fixtures.py, and an independent little-endian decoder.
import { readFileSync } from 'node:fs';
import { bfloat16BitsToFloat32, float16BitsToFloat32 } from '../dtype/half.js';

export const FIXTURE_DIR = new URL('../../test-fixtures/safetensors/', import.meta.url);

export interface FixtureTensor {
  dtype: string;
  shape: number[];
  hex: string;
  /** Numbers; "nan"/"inf"/"-inf" for non-finite floats; decimal strings for I64. */
  values: (number | string)[];
}

export interface FixtureFile {
  metadata: Record<string, string> | null;
  /** Tensor names in data-buffer order. */
  order: string[];
  tensors: Record<string, FixtureTensor>;
}

export const sidecar = JSON.parse(readFileSync(new URL('fixtures.json', FIXTURE_DIR), 'utf8')) as {
  torch_version: string;
  files: Record<string, FixtureFile>;
};

export function readFixture(name: string): Uint8Array {
  const b = readFileSync(new URL(name, FIXTURE_DIR));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The fixture's values as JS numbers (bigint for I64), non-finite floats decoded. */
export function expectedValues(t: FixtureTensor): (number | bigint)[] {
  return t.values.map((v) => {
    if (t.dtype === 'I64') return BigInt(v);
    if (v === 'nan') return Number.NaN;
    if (v === 'inf') return Number.POSITIVE_INFINITY;
    if (v === '-inf') return Number.NEGATIVE_INFINITY;
    return v as number;
  });
}

/** Decodes raw little-endian bytes with a DataView (independent of the code under test). */
export function decodeLittleEndian(code: string, bytes: Uint8Array): (number | bigint)[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read: Record<string, [number, (o: number) => number | bigint]> = {
    F64: [8, (o) => view.getFloat64(o, true)],
    F32: [4, (o) => view.getFloat32(o, true)],
    F16: [2, (o) => float16BitsToFloat32(view.getUint16(o, true))],
    BF16: [2, (o) => bfloat16BitsToFloat32(view.getUint16(o, true))],
    I64: [8, (o) => view.getBigInt64(o, true)],
    I32: [4, (o) => view.getInt32(o, true)],
    I8: [1, (o) => view.getInt8(o)],
    U8: [1, (o) => view.getUint8(o)],
    BOOL: [1, (o) => view.getUint8(o)],
  };
  const [size, get] = read[code];
  const out: (number | bigint)[] = [];
  for (let o = 0; o < bytes.length; o += size) out.push(get(o));
  return out;
}

/** Deterministic PRNG (mulberry32) so fuzz failures reproduce from the printed seed and case. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A file built by hand: `header` serialized as given (any JSON text), then `data`. */
export function fileWith(header: string | object, data: Uint8Array | number[] = []): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}
