import { describe, expect, it } from 'vitest';
import { hostArrayFromBytes } from './host-bytes.js';
import { parseSafetensors } from './safetensors-parse.js';
import { decodeLittleEndian, expectedValues, fileWith, readFixture, sidecar, toHex } from './test-support.js';

const KILN_DTYPE: Record<string, string> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

describe('parseSafetensors on files written from PyTorch tensors', () => {
  for (const file of ['reference.safetensors', 'roundtrip.safetensors', 'name_ordered.safetensors']) {
    it(`${file}: names, dtypes, shapes, bytes and values match what torch wrote`, () => {
      const expected = sidecar.files[file];
      const { tensors, metadata } = parseSafetensors(readFixture(file), file);
      expect(metadata).toEqual(expected.metadata ?? undefined);
      expect([...tensors.keys()]).toEqual(expected.order);
      for (const [name, want] of Object.entries(expected.tensors)) {
        const got = tensors.get(name)!;
        expect(got.dtype, name).toBe(KILN_DTYPE[want.dtype]);
        expect(got.shape, name).toEqual(want.shape);
        expect(toHex(got.data), name).toBe(want.hex);
        expect(decodeLittleEndian(want.dtype, got.data), name).toEqual(expectedValues(want));
      }
    });
  }

  it('returns zero-copy views of the input bytes', () => {
    const bytes = readFixture('reference.safetensors');
    const { tensors } = parseSafetensors(bytes);
    for (const entry of tensors.values()) {
      expect(entry.data.buffer).toBe(bytes.buffer);
      expect(entry.data.byteOffset).toBeGreaterThanOrEqual(bytes.byteOffset + 8);
    }
  });

  it('the reference layout aligns every tensor to its itemsize', () => {
    const bytes = readFixture('reference.safetensors');
    const { tensors } = parseSafetensors(bytes);
    for (const [name, e] of tensors) {
      const size = { F64: 8, I64: 8, F32: 4, I32: 4 }[decodeCode(e.dtype)] ?? 1;
      expect((e.data.byteOffset - bytes.byteOffset) % size, name).toBe(0);
    }
  });

  it('decodes float16, bfloat16 and bool values to the host arrays tensors are made from', () => {
    const expected = sidecar.files['reference.safetensors'].tensors;
    const { tensors } = parseSafetensors(readFixture('reference.safetensors'));
    for (const name of ['f16', 'bf16', 'f32.special', 'mask', 'i64', 'u8']) {
      const host = hostArrayFromBytes(tensors.get(name)!.dtype, tensors.get(name)!.data);
      expect(Array.from(host as ArrayLike<number | bigint>), name).toEqual(expectedValues(expected[name]));
    }
  });

  it('rejects a dtype Kiln has no equivalent for, naming the tensor and the code', () => {
    expect(() =>
      parseSafetensors(readFixture('unsupported_dtype.safetensors'), 'unsupported_dtype.safetensors'),
    ).toThrow(
      /^safetensors \(unsupported_dtype\.safetensors\): tensor "counts": dtype I16 is not supported by Kiln/,
    );
  });

  it('parses what the reference implementation`s own tests serialize (tensor.rs test_serialization)', () => {
    // Expected bytes asserted by huggingface/safetensors safetensors/src/tensor.rs `test_serialization`.
    const bytes = new Uint8Array([
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101,
      34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34,
      100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0,
      0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
    const { tensors, metadata } = parseSafetensors(bytes);
    expect(metadata).toBeUndefined();
    const t = tensors.get('attn.0')!;
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([1, 2, 3]);
    expect(decodeLittleEndian('F32', t.data)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('accepts tensors listed in any order, empty tensors sharing an offset, and a null __metadata__', () => {
    const data = new Uint8Array(12);
    const bytes = fileWith(
      {
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        e2: { dtype: 'F64', shape: [0, 5], data_offsets: [4, 4] },
        e1: { dtype: 'I8', shape: [3, 0], data_offsets: [4, 4] },
        a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] },
        __metadata__: null,
      },
      data,
    );
    const { tensors, metadata } = parseSafetensors(bytes);
    expect([...tensors.keys()]).toEqual(['a', 'e1', 'e2', 'b']);
    expect(metadata).toBeUndefined();
    expect(tensors.get('e2')!.data.length).toBe(0);
  });

  it('keeps "__proto__" as an ordinary tensor name and metadata key', () => {
    const bytes = fileWith(
      '{"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"__metadata__":{"__proto__":"x"}}',
      [9],
    );
    const { tensors, metadata } = parseSafetensors(bytes);
    expect([...tensors.keys()]).toEqual(['__proto__']);
    expect(Object.keys(metadata!)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(metadata, '__proto__')?.value).toBe('x');
  });

  it('parses bytes in shared memory, still without copying the data', () => {
    const file = readFixture('roundtrip.safetensors');
    const shared = new Uint8Array(new SharedArrayBuffer(file.length));
    shared.set(file);
    const { tensors } = parseSafetensors(shared);
    expect(tensors.get('pos')!.data.buffer).toBe(shared.buffer);
    expect(decodeLittleEndian('I32', tensors.get('pos')!.data)).toEqual([0, 1, 2, 3, 4]);
  });

  it('accepts the smallest file: no tensors, an empty data buffer', () => {
    expect(parseSafetensors(fileWith('{}')).tensors.size).toBe(0);
    expect(parseSafetensors(fileWith('{}        ')).tensors.size).toBe(0);
  });
});

function decodeCode(dtype: string): string {
  return Object.entries(KILN_DTYPE).find(([, d]) => d === dtype)![0];
}

describe('parseSafetensors rejects corrupt files with an Error naming the file, the tensor and the fault', () => {
  const f32x2 = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const eightBytes = new Uint8Array(8);
  const withLength = (n: bigint, rest: number[] = []) => {
    const b = new Uint8Array(8 + rest.length);
    new DataView(b.buffer).setBigUint64(0, n, true);
    b.set(rest, 8);
    return b;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['an empty file', new Uint8Array(0), /file is 0 bytes, too short for the 8-byte header length/],
    ['a 7-byte file', new Uint8Array(7), /file is 7 bytes, too short/],
    [
      'a header length above 100 MB',
      withLength(100_000_001n),
      /header length 100000001 exceeds the 100 MB limit/,
    ],
    [
      'a header length of 2^64 - 1',
      withLength(2n ** 64n - 1n),
      /header length 18446744073709551615 exceeds the 100 MB limit/,
    ],
    [
      'a header length beyond the file',
      withLength(10n, [123, 125]),
      /header length 10 runs past the end of the file \(10 bytes/,
    ],
    [
      'a header that is not UTF-8',
      fileWith('{"ab":1}').map((b, i) => (i === 10 ? 0xff : b)),
      /header is not valid UTF-8/,
    ],
    ['a header with a byte-order mark', fileWith('\ufeff{}'), /header is not valid JSON/],
    ['a header that is not JSON', fileWith('{"a":'), /header is not valid JSON/],
    ['a header that is an array', fileWith('[]'), /header must be a JSON object of tensors, got \[\]/],
    ['a header that is a number', fileWith('42'), /header must be a JSON object of tensors, got 42/],
    [
      'an entry that is not an object',
      fileWith({ w: [1, 2] }),
      /tensor "w": header entry must be an object with dtype, shape and data_offsets, got \[1,2\]/,
    ],
    [
      'an entry without dtype',
      fileWith({ w: { shape: [2], data_offsets: [0, 8] } }, eightBytes),
      /tensor "w": header entry is missing the field "dtype"/,
    ],
    [
      'an entry without shape',
      fileWith({ w: { dtype: 'F32', data_offsets: [0, 8] } }, eightBytes),
      /tensor "w": header entry is missing the field "shape"/,
    ],
    [
      'an entry without data_offsets',
      fileWith({ w: { dtype: 'F32', shape: [2] } }, eightBytes),
      /tensor "w": header entry is missing the field "data_offsets"/,
    ],
    [
      'a dtype that is not a string',
      fileWith({ w: { ...f32x2, dtype: 4 } }, eightBytes),
      /tensor "w": dtype must be a string, got 4/,
    ],
    [
      'an unknown dtype code',
      fileWith({ w: { ...f32x2, dtype: 'F33' } }, eightBytes),
      /tensor "w": unknown dtype code "F33"/,
    ],
    [
      'an F8 dtype',
      fileWith({ w: { ...f32x2, dtype: 'F8_E4M3' } }, eightBytes),
      /tensor "w": dtype F8_E4M3 is not supported by Kiln/,
    ],
    [
      'a dtype named like an Object.prototype key',
      fileWith({ w: { ...f32x2, dtype: 'constructor' } }, eightBytes),
      /tensor "w": unknown dtype code "constructor"/,
    ],
    [
      'a negative dim',
      fileWith({ w: { ...f32x2, shape: [-2] } }, eightBytes),
      /tensor "w": shape must be a list of non-negative integers, got \[-2\]/,
    ],
    [
      'a fractional dim',
      fileWith({ w: { ...f32x2, shape: [1.5] } }, eightBytes),
      /tensor "w": shape must be a list of non-negative integers/,
    ],
    [
      'a dim above 2^53',
      fileWith('{"w":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,8]}}', eightBytes),
      /tensor "w": shape must be a list of non-negative integers/,
    ],
    [
      'a string dim',
      fileWith({ w: { ...f32x2, shape: ['2'] } }, eightBytes),
      /tensor "w": shape must be a list of non-negative integers, got \["2"\]/,
    ],
    [
      'a shape that is not a list',
      fileWith({ w: { ...f32x2, shape: 2 } }, eightBytes),
      /tensor "w": shape must be a list/,
    ],
    [
      'dims whose product overflows',
      fileWith({ w: { ...f32x2, shape: [2 ** 30, 2 ** 30, 2 ** 30, 0] } }, eightBytes),
      /tensor "w": shape \[1073741824, 1073741824, 1073741824, 0\] has more elements than can be addressed/,
    ],
    [
      'three offsets',
      fileWith({ w: { ...f32x2, data_offsets: [0, 4, 8] } }, eightBytes),
      /tensor "w": data_offsets must be \[begin, end\]/,
    ],
    [
      'a negative offset',
      fileWith({ w: { ...f32x2, data_offsets: [-8, 0] } }, eightBytes),
      /tensor "w": data_offsets must be \[begin, end\] \(non-negative integers\), got \[-8,0\]/,
    ],
    [
      'offsets that end before they begin',
      fileWith({ w: { ...f32x2, data_offsets: [8, 0] } }, eightBytes),
      /tensor "w": data_offsets \[8, 0\] end before they begin/,
    ],
    [
      'offsets beyond the data buffer',
      fileWith({ w: { ...f32x2, data_offsets: [0, 8] } }, [1, 2, 3, 4]),
      /tensor "w": data_offsets \[0, 8\] point outside the data buffer \(4 bytes/,
    ],
    [
      'a size that disagrees with dtype and shape',
      fileWith({ w: { ...f32x2, shape: [3] } }, eightBytes),
      /tensor "w": data_offsets \[0, 8\] hold 8 bytes, but dtype F32 and shape \[3\] need 12 \(3 elements x 4 bytes\)/,
    ],
    [
      'overlapping tensors',
      fileWith(
        { a: { ...f32x2, data_offsets: [0, 8] }, b: { ...f32x2, shape: [1], data_offsets: [4, 8] } },
        eightBytes,
      ),
      /tensors "a" \(data_offsets \[0, 8\]\) and "b" \(data_offsets \[4, 8\]\) overlap/,
    ],
    [
      'two tensors on the same bytes',
      fileWith({ a: f32x2, b: f32x2 }, eightBytes),
      /tensors "a" \(data_offsets \[0, 8\]\) and "b" \(data_offsets \[0, 8\]\) overlap/,
    ],
    [
      'an empty tensor inside another one',
      fileWith({ a: f32x2, e: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } }, eightBytes),
      /tensors "a" \(data_offsets \[0, 8\]\) and "e" \(data_offsets \[4, 4\]\) overlap/,
    ],
    [
      'a hole between tensors',
      fileWith(
        {
          a: { ...f32x2, shape: [1], data_offsets: [0, 4] },
          b: { ...f32x2, shape: [1], data_offsets: [8, 12] },
        },
        new Uint8Array(12),
      ),
      /bytes \[4, 8\) of the data buffer, before tensor "b", belong to no tensor \(a hole; .*MetadataIncompleteBuffer\)/,
    ],
    [
      'trailing bytes after the last tensor',
      fileWith({ a: f32x2 }, new Uint8Array(9)),
      /the last 1 bytes of the data buffer \(\[8, 9\)\) belong to no tensor/,
    ],
    ['data but no tensors', fileWith({}, [0]), /the last 1 bytes of the data buffer/],
    [
      '__metadata__ that is not an object',
      fileWith({ __metadata__: 'pt' }),
      /"__metadata__" must be an object of strings, got "pt"/,
    ],
    [
      'a __metadata__ value that is not a string',
      fileWith({ __metadata__: { epoch: 3 } }),
      /"__metadata__" value for key "epoch" must be a string, got 3/,
    ],
    [
      'an unpaired surrogate in a name',
      fileWith('{"a\\ud800":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'),
      /unpaired UTF-16 surrogate/,
    ],
  ];

  for (const [what, bytes, message] of cases) {
    it(what, () => {
      let error: unknown;
      try {
        parseSafetensors(bytes, 'bad.safetensors');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).constructor).toBe(Error);
      expect((error as Error).message).toMatch(/^safetensors \(bad\.safetensors\): /);
      expect((error as Error).message).toMatch(message);
    });
  }

  it('says "safetensors:" when no source is given', () => {
    expect(() => parseSafetensors(new Uint8Array(3))).toThrow(/^safetensors: file is 3 bytes/);
  });

  it('cuts very long tensor names short in messages', () => {
    const name = 'x'.repeat(10_000);
    const bytes = fileWith({ [name]: { dtype: 'F32', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8));
    expect(() => parseSafetensors(bytes)).toThrow(
      /^safetensors: tensor "x{120}\.\.\.": data_offsets \[0, 8\] hold 8 bytes/,
    );
  });

  it('rejects a non-Uint8Array input with a TypeError', () => {
    expect(() => parseSafetensors([1, 2, 3] as unknown as Uint8Array)).toThrow(TypeError);
  });
});
