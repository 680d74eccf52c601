import '@kiln/backend-cpu';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import reference from '../../test-data/fashion-mnist/reference.json' with { type: 'json' };
import { gunzipWithStreams, gunzipWithZlib } from '../io/gzip.js';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DEBIAN_ROOT, loadFashionMNIST } from './fashion-mnist.js';
import { idxToTensor, parseIdx, readIdx } from './idx.js';

// The first 200 train / 100 test samples of the real Fashion-MNIST files, and facts about them
// computed in Python (scripts/make-fashion-mnist-subset.py).
const root = fileURLToPath(new URL('../../test-data/fashion-mnist', import.meta.url));
const trainImages = join(root, 'train-images-idx3-ubyte.gz');

/** Byte-for-byte equality (toEqual on 150k-element arrays takes seconds). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function sums(images: Uint8Array, count: number): number[] {
  return Array.from({ length: count }, (_, i) =>
    images.subarray(i * 784, (i + 1) * 784).reduce((a, b) => a + b, 0),
  );
}

describe('readIdx on Fashion-MNIST files', () => {
  it('parses the gzipped training images and labels: header, labels, pixels', async () => {
    const images = await readIdx(trainImages);
    expect(images.dtype).toBe('uint8');
    expect(images.shape).toEqual([200, 28, 28]);
    expect(sums(images.data as Uint8Array, 200)).toEqual(reference.train.pixelSums);
    expect(Array.from(images.data.subarray(14 * 28, 15 * 28))).toEqual(reference.train.image0Row14);
    const labels = await readIdx(join(root, 'train-labels-idx1-ubyte.gz'));
    expect(labels.shape).toEqual([200]);
    expect(Array.from(labels.data)).toEqual(reference.train.labels);
  });

  it('reads bytes as well as paths, gzipped or not', async () => {
    const gz = new Uint8Array(await readFile(trainImages));
    const raw = new Uint8Array(gunzipSync(gz));
    const fromGz = await readIdx(gz);
    const fromRaw = await readIdx(raw);
    expect(fromRaw.shape).toEqual(fromGz.shape);
    expect(sameBytes(fromRaw.data, fromGz.data)).toBe(true);
  });

  it('gunzips the same bytes with node:zlib and with DecompressionStream (the browser path)', async () => {
    const gz = new Uint8Array(await readFile(trainImages));
    expect(sameBytes(await gunzipWithStreams(gz, 'x'), await gunzipWithZlib(gz, 'x'))).toBe(true);
  });

  it('loads a split as tensors: uint8 images [N, 28, 28], int32 labels, class names', async () => {
    const train = await loadFashionMNIST({ root, train: true });
    expect(train.images.shape).toEqual([200, 28, 28]);
    expect(train.images.dtype).toBe('uint8');
    expect(train.labels.dtype).toBe('int32');
    expect(Array.from(train.labels.dataSync() as ArrayLike<number>)).toEqual(reference.train.labels);
    expect(train.classes[reference.train.labels[0]]).toBe('Ankle boot');
    const test = await loadFashionMNIST({ root, train: false });
    expect(test.images.shape).toEqual([100, 28, 28]);
    expect(Array.from(test.labels.dataSync() as ArrayLike<number>)).toEqual(reference.t10k.labels);
    expect(sums(test.images.dataSync() as Uint8Array, 100)).toEqual(reference.t10k.pixelSums);
  });

  it.skipIf(existsSync(FASHION_MNIST_DEBIAN_ROOT))(
    'says how to get the files when they are missing',
    async () => {
      const empty = await mkdtemp(join(tmpdir(), 'kiln-fmnist-'));
      await expect(loadFashionMNIST({ root: empty })).rejects.toThrow(
        new RegExp(
          `train-images-idx3-ubyte\\[\\.gz\\].*not found in ${empty} or ${FASHION_MNIST_DEBIAN_ROOT}.*apt-get install dataset-fashion-mnist`,
        ),
      );
    },
  );

  // The complete original files: the copy the repository ships for its examples (byte-identical to
  // Debian's dataset-fashion-mnist).
  it('reads the complete original files: 60,000 + 10,000, 10 balanced classes', async () => {
    const root = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'data', 'fashion-mnist');
    for (const [train, n] of [
      [true, 60000],
      [false, 10000],
    ] as const) {
      const split = await loadFashionMNIST({ root, train });
      expect(split.images.shape).toEqual([n, 28, 28]);
      const counts = new Array(10).fill(0);
      for (const l of split.labels.dataSync() as Int32Array) counts[l]++;
      expect(counts).toEqual(new Array(10).fill(n / 10));
    }
    expect(FASHION_MNIST_CLASSES).toHaveLength(10);
  });
});

describe('readIdx errors name the file and what is wrong', () => {
  it('a truncated file says how many bytes the header promised and how many arrived', async () => {
    const raw = new Uint8Array(gunzipSync(await readFile(trainImages)));
    const dir = await mkdtemp(join(tmpdir(), 'kiln-idx-'));
    const path = join(dir, 'train-images-idx3-ubyte');
    await writeFile(path, raw.subarray(0, raw.length - 1000));
    await expect(readIdx(path)).rejects.toThrow(
      `readIdx: ${path}: truncated: the header declares [200, 28, 28] uint8 (156800 bytes of data) but only 155800 bytes follow the 16-byte header`,
    );
  });

  it('a truncated gzip stream is reported as such', async () => {
    const gz = new Uint8Array(await readFile(trainImages));
    const dir = await mkdtemp(join(tmpdir(), 'kiln-idx-'));
    const path = join(dir, 'cut.gz');
    await writeFile(path, gz.subarray(0, 5000));
    await expect(readIdx(path)).rejects.toThrow(
      `readIdx: ${path}: gzip data is corrupt or truncated (unexpected end of file)`,
    );
    await expect(gunzipWithStreams(gz.subarray(0, 5000), 'cut.gz')).rejects.toThrow(
      'cut.gz: gzip data is corrupt or truncated',
    );
  });

  it('rejects trailing bytes, foreign files, unknown types and short headers', () => {
    const header = [0, 0, 0x08, 1, 0, 0, 0, 3];
    expect(() => parseIdx(new Uint8Array([...header, 1, 2, 3, 4]), 'f')).toThrow(
      'readIdx: f: the header declares [3] uint8 (3 bytes of data) but 4 bytes follow the header (1 unexpected trailing bytes)',
    );
    expect(() => parseIdx(new TextEncoder().encode('PK\u0003\u0004'), 'a.zip')).toThrow(
      'readIdx: a.zip: not an IDX file: it starts with 0x50 0x4b, expected 0x00 0x00',
    );
    expect(() => parseIdx(new Uint8Array([0, 0, 0x0a, 1, 0, 0, 0, 0]), 'f')).toThrow(
      'unknown IDX element type 0x0a',
    );
    expect(() => parseIdx(new Uint8Array([0, 0, 0x08, 3, 0, 0, 0, 1]), 'f')).toThrow(
      'readIdx: f: truncated header: 3 dimensions need 16 header bytes, the file has 8',
    );
    expect(() => parseIdx(new Uint8Array([0, 0]), 'f')).toThrow('too short for an IDX header');
  });

  it('a missing file is named', async () => {
    await expect(readIdx('/nonexistent/x-idx1-ubyte')).rejects.toThrow(
      'readIdx: cannot read /nonexistent/x-idx1-ubyte: no such file',
    );
  });
});

describe('IDX element types', () => {
  // Elements are big-endian (the format's definition); DataView writes them so here.
  function idxFile(
    code: number,
    shape: number[],
    size: number,
    write: (v: DataView, at: number, x: number) => void,
    values: number[],
  ) {
    const header = 4 + 4 * shape.length;
    const view = new DataView(new ArrayBuffer(header + values.length * size));
    view.setUint8(2, code);
    view.setUint8(3, shape.length);
    for (const [i, d] of shape.entries()) view.setUint32(4 + 4 * i, d, false);
    for (const [i, x] of values.entries()) write(view, header + i * size, x);
    return new Uint8Array(view.buffer);
  }

  it('decodes int8, int16, int32, float32 and float64, big-endian', () => {
    const values = [-3, 1, 258, -1000, 7, 0];
    const cases = [
      [0x09, 1, (v: DataView, at: number, x: number) => v.setInt8(at, x), [-3, 1, 2, -24, 7, 0]],
      [0x0b, 2, (v: DataView, at: number, x: number) => v.setInt16(at, x, false), values],
      [0x0c, 4, (v: DataView, at: number, x: number) => v.setInt32(at, x, false), values],
      [0x0d, 4, (v: DataView, at: number, x: number) => v.setFloat32(at, x, false), values],
      [
        0x0e,
        8,
        (v: DataView, at: number, x: number) => v.setFloat64(at, x, false),
        [0.1, -2.5, 1e300, 0, 3, 4],
      ],
    ] as const;
    for (const [code, size, write, input] of cases) {
      const idx = parseIdx(idxFile(code, [2, 3], size, write, [...input]));
      expect(idx.shape).toEqual([2, 3]);
      expect(Array.from(idx.data)).toEqual(code === 0x09 ? [-3, 1, 2, -24, 7, 0] : [...input]);
    }
  });

  it('turns int16 into an int32 tensor and keeps other types', () => {
    const idx = parseIdx(idxFile(0x0b, [2], 2, (v, at, x) => v.setInt16(at, x, false), [-5, 300]));
    const t = idxToTensor(idx);
    expect(t.dtype).toBe('int32');
    expect(t.toArraySync()).toEqual([-5, 300]);
  });
});
