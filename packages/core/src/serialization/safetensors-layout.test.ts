import { describe, expect, it } from 'vitest';
import { type DType, ITEMSIZE } from '../dtype/dtype.js';
import type { SafetensorsEntry } from './safetensors-format.js';
import { compareCodePoints } from './safetensors-format.js';
import { serializeSafetensors } from './safetensors-layout.js';
import { parseSafetensors } from './safetensors-parse.js';
import { readFixture, sidecar } from './test-support.js';

const f32Bytes = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

describe('serializeSafetensors writes the reference layout byte for byte', () => {
  // The expected arrays are the ones asserted by huggingface/safetensors safetensors/src/tensor.rs
  // (`test_serialization`, `test_empty`, `test_serialization_forced_alignement`).
  it('one F32 tensor (test_serialization)', () => {
    const out = serializeSafetensors({
      'attn.0': { dtype: 'float32', shape: [1, 2, 3], data: f32Bytes([0, 1, 2, 3, 4, 5]) },
    });
    expect(Array.from(out)).toEqual([
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101,
      34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34,
      100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0,
      0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
  });

  it('no tensors, with and without metadata (test_empty)', () => {
    expect(Array.from(serializeSafetensors({}))).toEqual([
      8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32,
    ]);
    expect(Array.from(serializeSafetensors(new Map(), { framework: 'pt' }))).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95, 95, 34, 58, 123, 34,
      102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112, 116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
  });

  it('pads the header with spaces so data starts 8-byte aligned (test_serialization_forced_alignement)', () => {
    const out = serializeSafetensors({
      attn0: { dtype: 'float32', shape: [1, 1, 2, 3], data: f32Bytes([0, 1, 2, 3, 4, 5]) },
    });
    expect(Array.from(out)).toEqual([
      72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101, 34,
      58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 49, 44, 50, 44, 51, 93, 44,
      34, 100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125,
      32, 32, 32, 32, 32, 32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
      160, 64,
    ]);
  });

  for (const file of ['reference.safetensors', 'roundtrip.safetensors']) {
    it(`re-serializing ${file} (written in the reference layout from torch tensors) reproduces it exactly`, () => {
      const bytes = readFixture(file);
      const { tensors, metadata } = parseSafetensors(bytes);
      expect(serializeSafetensors(tensors, metadata)).toEqual(bytes);
      // Insertion order of the input does not matter.
      const reversed = Object.fromEntries([...tensors].reverse());
      expect(serializeSafetensors(reversed, metadata)).toEqual(bytes);
    });
  }

  it('re-serializing a name-ordered, unaligned file gives the reference layout', () => {
    const { tensors } = parseSafetensors(readFixture('name_ordered.safetensors'));
    const out = serializeSafetensors(tensors);
    const again = parseSafetensors(out);
    expect([...again.tensors.keys()]).toEqual([
      'e.i64',
      'c.f64',
      'b.f32',
      'g.i32',
      'd.bf16',
      'f.f16',
      'a.u8',
    ]);
    for (const [name, e] of again.tensors) {
      expect(e.data, name).toEqual(tensors.get(name)!.data);
      expect((e.data.byteOffset - out.byteOffset) % ITEMSIZE[e.dtype], name).toBe(0);
    }
  });
});

describe('serializeSafetensors ordering and escaping', () => {
  const entry = (dtype: DType, n = 1): SafetensorsEntry => ({
    dtype,
    shape: [n],
    data: new Uint8Array(n * ITEMSIZE[dtype]),
  });

  it('orders by the reference Dtype enum descending (I64 before F64), then by name', () => {
    const dtypes: DType[] = [
      'bool',
      'uint8',
      'int8',
      'float16',
      'bfloat16',
      'int32',
      'float32',
      'float64',
      'int64',
    ];
    const record: Record<string, SafetensorsEntry> = {};
    for (const d of dtypes) {
      record[`b.${d}`] = entry(d);
      record[`a.${d}`] = entry(d);
    }
    const order = [...parseSafetensors(serializeSafetensors(record)).tensors.keys()];
    expect(order).toEqual([...dtypes].reverse().flatMap((d) => [`a.${d}`, `b.${d}`]));
  });

  it('orders names by code point like Rust strings, not by UTF-16 unit', () => {
    expect(['z\u{1F600}', 'z\uFF61', 'z'].sort(compareCodePoints)).toEqual(['z', 'z\uFF61', 'z\u{1F600}']);
    const order = sidecar.files['reference.safetensors'].order;
    expect(order.indexOf('z\uFF61')).toBeLessThan(order.indexOf('z\u{1F600}'));
  });

  it('keeps integer-like names in the reference order (objects would move them first)', () => {
    const out = serializeSafetensors({ b: entry('float32'), '10': entry('float32'), '2': entry('float32') });
    const header = new TextDecoder().decode(out.subarray(8, 8 + new DataView(out.buffer).getUint32(0, true)));
    expect(header.indexOf('"10"')).toBeLessThan(header.indexOf('"2"'));
    expect(header.indexOf('"2"')).toBeLessThan(header.indexOf('"b"'));
  });

  it('escapes names and metadata as serde_json does and round-trips them', () => {
    const name = 'quote" backslash\\ newline\n tab\t nul\u0000 del\u007f é 权 \u{1F600}';
    const out = serializeSafetensors({ [name]: entry('uint8', 2) }, { [name]: name, b: '', a: 'x' });
    const header = new TextDecoder().decode(out.subarray(8, 8 + new DataView(out.buffer).getUint32(0, true)));
    expect(header).toContain('quote\\" backslash\\\\ newline\\n tab\\t nul\\u0000 del\u007f é 权 \u{1F600}');
    expect(header.startsWith('{"__metadata__":{"a":"x","b":"","quote')).toBe(true);
    const back = parseSafetensors(out);
    expect([...back.tensors.keys()]).toEqual([name]);
    expect(back.metadata).toEqual({ [name]: name, b: '', a: 'x' });
  });
});

describe('serializeSafetensors rejects what cannot be written', () => {
  const ok: SafetensorsEntry = { dtype: 'float32', shape: [2], data: new Uint8Array(8) };
  const cases: [string, () => unknown, RegExp][] = [
    [
      'data of the wrong length',
      () => serializeSafetensors({ w: { ...ok, data: new Uint8Array(7) } }),
      /tensor "w": data must be a Uint8Array of 8 bytes \(dtype float32, shape \[2\]\), got 7 bytes/,
    ],
    [
      'data that is not a Uint8Array',
      () => serializeSafetensors({ w: { ...ok, data: new Float32Array(2) as unknown as Uint8Array } }),
      /tensor "w": data must be a Uint8Array of 8 bytes/,
    ],
    [
      'an unknown dtype',
      () => serializeSafetensors({ w: { ...ok, dtype: 'int16' as DType } }),
      /tensor "w": unknown dtype "int16"/,
    ],
    [
      'a negative dim',
      () => serializeSafetensors({ w: { ...ok, shape: [-2] } }),
      /tensor "w": shape must be a list of non-negative integers, got \[-2\]/,
    ],
    [
      'the reserved name __metadata__',
      () => serializeSafetensors({ __metadata__: ok }),
      /tensor "__metadata__": the name is reserved/,
    ],
    [
      'an unpaired surrogate in a name',
      () => serializeSafetensors({ 'a\ud800': ok }),
      /unpaired UTF-16 surrogate/,
    ],
    [
      'a metadata value that is not a string',
      () => serializeSafetensors({}, { epoch: 3 as unknown as string }),
      /metadata value for key "epoch" must be a string, got 3/,
    ],
    [
      'an entry that is not an object',
      () => serializeSafetensors({ w: null as unknown as SafetensorsEntry }),
      /tensor "w": expected \{ dtype, shape, data \}/,
    ],
  ];
  for (const [what, run, message] of cases) {
    it(what, () => expect(run).toThrow(message));
  }
});
