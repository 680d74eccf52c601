import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Registers 'cpu'. Imported by path: @kiln/core does not list @kiln/backend-cpu as a devDependency.
import '../../../backend-cpu/src/index.js';
import type { DType } from '../dtype/dtype.js';
import * as k from '../index.js';
import type { Tensor } from '../tensor/tensor.js';
import { loadSafetensors, parseSafetensors, saveSafetensors, serializeSafetensors } from './safetensors.js';
import { expectedValues, FIXTURE_DIR, readFixture, sidecar } from './test-support.js';

const fixturePath = (name: string) => fileURLToPath(new URL(name, FIXTURE_DIR));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kiln-safetensors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const values = async (t: Tensor) => Array.from((await t.data()) as ArrayLike<number | bigint>);

describe('loadSafetensors reads files written from PyTorch', () => {
  for (const file of ['reference.safetensors', 'roundtrip.safetensors', 'name_ordered.safetensors']) {
    it(`${file}: every tensor has torch's dtype, shape and values`, async () => {
      const loaded = await loadSafetensors(fixturePath(file));
      const expected = sidecar.files[file].tensors;
      expect(Object.keys(loaded).sort()).toEqual(Object.keys(expected).sort());
      for (const [name, want] of Object.entries(expected)) {
        const t = loaded[name];
        expect(t.shape, name).toEqual(want.shape);
        expect(t.device, name).toBe('cpu');
        let wanted = expectedValues(want);
        let got = await values(t);
        if (want.dtype === 'I64') {
          // The CPU backend holds int64 as float64: exact within +-2^53 (the parse tests check all bits).
          const exact = wanted.map((v) => (v as bigint) >= -(2n ** 53n) && (v as bigint) <= 2n ** 53n);
          wanted = wanted.filter((_, i) => exact[i]);
          got = got.filter((_, i) => exact[i]);
        }
        expect(got, name).toEqual(wanted);
      }
    });
  }

  it('load then save reproduces a reference-layout file byte for byte', async () => {
    const bytes = readFixture('roundtrip.safetensors');
    const { metadata } = parseSafetensors(bytes);
    const loaded = await loadSafetensors(fixturePath('roundtrip.safetensors'));
    expect(await saveSafetensors(undefined, loaded, metadata)).toEqual(bytes);
  });

  it('names the file, the tensor and the fault when the file is corrupt', async () => {
    const bad = join(dir, 'bad.safetensors');
    await writeFile(bad, readFixture('unsupported_dtype.safetensors'));
    await expect(loadSafetensors(bad)).rejects.toThrow(
      `safetensors (${bad}): tensor "counts": dtype I16 is not supported`,
    );
    const truncated = join(dir, 'truncated.safetensors');
    await writeFile(truncated, readFixture('reference.safetensors').subarray(0, 200));
    await expect(loadSafetensors(truncated)).rejects.toThrow(`safetensors (${truncated}): header length`);
  });

  it('rejects a missing file with the file system`s error and a bad argument with a TypeError', async () => {
    await expect(loadSafetensors(join(dir, 'missing.safetensors'))).rejects.toThrow(/ENOENT/);
    await expect(loadSafetensors(42 as unknown as string)).rejects.toThrow(TypeError);
  });

  it('loads onto the device asked for, and says which backends exist for an unknown one', async () => {
    const bytes = readFixture('roundtrip.safetensors');
    const loaded = await loadSafetensors(bytes, { device: 'cpu' });
    expect(loaded.pos.device).toBe('cpu');
    await expect(loadSafetensors(bytes, { device: 'tpu' })).rejects.toThrow(
      /no backend registered for device 'tpu'/,
    );
  });
});

describe('saveSafetensors + loadSafetensors round trip', () => {
  const DTYPES: DType[] = [
    'float32',
    'float64',
    'float16',
    'bfloat16',
    'int64',
    'int32',
    'int8',
    'uint8',
    'bool',
  ];
  const sample = (dtype: DType): number[] =>
    dtype === 'bool'
      ? [1, 0, 0, 1, 1, 0]
      : dtype === 'uint8'
        ? [0, 1, 2, 127, 200, 255]
        : [-3, -1.5, 0, 0.25, 2, 100];

  for (const dtype of DTYPES) {
    it(`${dtype}: 2-d, 0-d, empty and non-contiguous tensors keep dtype, shape and values`, async () => {
      const isInt = dtype !== 'bool' && !dtype.startsWith('float') && dtype !== 'bfloat16';
      const base = sample(dtype).map((v) => (isInt ? Math.trunc(v) : v));
      const m = k.tensor(base, { dtype }).reshape(2, 3);
      const record = {
        matrix: m,
        scalar: k.tensor(base[4], { dtype }).reshape([]),
        empty: k.zeros([0, 3], { dtype }),
        transposed: m.transpose(0, 1),
        strided: m.slice(1, 0, 3, 2),
        expanded: k.tensor(base.slice(0, 3), { dtype }).reshape(1, 3).expand(2, 3),
      };
      const bytes = (await saveSafetensors(undefined, record, { dtype }))!;
      expect(parseSafetensors(bytes).metadata).toEqual({ dtype });
      const back = await loadSafetensors(bytes);
      for (const [name, t] of Object.entries(record)) {
        expect(back[name].dtype, name).toBe(dtype);
        expect(back[name].shape, name).toEqual(t.shape);
        expect(await values(back[name]), name).toEqual(await values(t));
      }
      // The views were saved in their logical (row-major) order, not their storage order.
      const flat = await values(m);
      const at = (idx: number[]) => idx.map((i) => flat[i]);
      expect(await values(back.transposed)).toEqual(at([0, 3, 1, 4, 2, 5]));
      expect(await values(back.strided)).toEqual(at([0, 2, 3, 5]));
      expect(await values(back.expanded)).toEqual(at([0, 1, 2, 0, 1, 2]));
    });
  }

  it('16-bit floats are rounded to nearest even on save, as torch does', async () => {
    // Expected: torch 1.13's x.half() and x.bfloat16() of the same float32 values.
    const x = k.tensor([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 1e-8], { dtype: 'float32' });
    const bytes = (await saveSafetensors(undefined, { h: x.to('float16'), b: x.to('bfloat16') }))!;
    const back = await loadSafetensors(bytes);
    expect(await values(back.h)).toEqual([1, 1 + 2 * 2 ** -10, Number.POSITIVE_INFINITY, 0]);
    expect(await values(back.b)).toEqual([1, 1, 65536, 1.0011717677116394e-8]);
  });

  it('keeps "__proto__" and integer-like names as ordinary keys', async () => {
    const record: Record<string, Tensor> = Object.create(null);
    Object.defineProperty(record, '__proto__', { value: k.tensor([1, 2]), enumerable: true });
    record['0'] = k.tensor([3]);
    const back = await loadSafetensors((await saveSafetensors(undefined, { ...record }))!);
    expect(Object.keys(back).sort()).toEqual(['0', '__proto__']);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(await values(Object.getOwnPropertyDescriptor(back, '__proto__')?.value)).toEqual([1, 2]);
  });

  it('rejects an empty path and a path that is not a string', async () => {
    await expect(saveSafetensors('', {})).rejects.toThrow(/path must be a non-empty string/);
    await expect(saveSafetensors(7 as unknown as string, {})).rejects.toThrow(TypeError);
  });

  it('rejects a record entry that is not a tensor, naming it', async () => {
    await expect(saveSafetensors(undefined, { w: [1, 2] as unknown as Tensor })).rejects.toThrow(
      /saveSafetensors: "w" is not a Tensor/,
    );
  });

  it('loaded tensors are counted by memory() and released by dispose()', async () => {
    const before = k.memory().tensors;
    const loaded = await loadSafetensors(readFixture('roundtrip.safetensors'));
    expect(k.memory().tensors).toBe(before + Object.keys(loaded).length);
    for (const t of Object.values(loaded)) t.dispose();
    expect(k.memory().tensors).toBe(before);
  });
});

describe('zero-copy loading on the CPU', () => {
  const aligned = () =>
    serializeSafetensors({
      w: { dtype: 'float32', shape: [2], data: new Uint8Array(new Float32Array([1, 2]).buffer) },
      h: { dtype: 'float16', shape: [1], data: new Uint8Array(new Uint16Array([0x3c00]).buffer) },
      m: { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) },
    });

  it('an aligned float32 tensor shares the bytes it was loaded from', async () => {
    const bytes = aligned();
    const { w } = await loadSafetensors(bytes);
    const at = parseSafetensors(bytes).tensors.get('w')!.data;
    new Float32Array(bytes.buffer, at.byteOffset, 2)[0] = 42;
    expect(await values(w)).toEqual([42, 2]);
  });

  it('a tensor at an unaligned offset is copied, with the same values', async () => {
    const src = aligned();
    const shifted = new Uint8Array(src.length + 1).subarray(1);
    shifted.set(src);
    const { w, h, m } = await loadSafetensors(shifted);
    expect(await values(w)).toEqual([1, 2]);
    expect(await values(h)).toEqual([1]);
    expect(await values(m)).toEqual([1, 0]);
    shifted.fill(0, 8);
    expect(await values(w)).toEqual([1, 2]);
  });

  it('float16 (held decoded) and bool bytes other than 0/1 are copied; bools are read as true', async () => {
    const bytes = aligned();
    const at = parseSafetensors(bytes).tensors.get('m')!.data;
    bytes[at.byteOffset + 1] = 7;
    const { h, m } = await loadSafetensors(bytes);
    bytes.fill(0, 8);
    expect(await values(h)).toEqual([1]);
    expect(await values(m)).toEqual([1, 1]);
  });
});

describe('saveSafetensors writes files atomically', () => {
  const record = (v: number) => ({ a: k.full([64], v), b: k.full([2, 3], v, { dtype: 'int64' }) });

  it('writes a new file that loads back, leaving only that file in the directory', async () => {
    const sub = await mkdtemp(join(dir, 'new-'));
    const path = join(sub, 'model.safetensors');
    expect(await saveSafetensors(path, record(1), { format: 'pt' })).toBeUndefined();
    expect(await readdir(sub)).toEqual(['model.safetensors']);
    expect(new Uint8Array(await readFile(path))).toEqual(
      await saveSafetensors(undefined, record(1), { format: 'pt' }),
    );
    expect(await values((await loadSafetensors(path)).a)).toEqual(new Array(64).fill(1));
  });

  it('replaces an existing file, keeping its permissions', async () => {
    const sub = await mkdtemp(join(dir, 'replace-'));
    const path = join(sub, 'model.safetensors');
    await saveSafetensors(path, record(1));
    await chmod(path, 0o640);
    await saveSafetensors(path, record(2));
    expect(await readdir(sub)).toEqual(['model.safetensors']);
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    expect(await values((await loadSafetensors(path)).b)).toEqual(new Array(6).fill(2n));
  });

  it('a tensor whose data() rejects mid-write leaves the previous file intact and no temporary file', async () => {
    const sub = await mkdtemp(join(dir, 'fail-'));
    const path = join(sub, 'model.safetensors');
    await saveSafetensors(path, record(1));
    const before = await readFile(path);
    const failing = k.full([4], 3);
    // 'z' sorts after 'a' within float32, so the header and 'a' are written before it fails.
    failing.data = () => Promise.reject(new Error('device lost'));
    await expect(saveSafetensors(path, { ...record(2), z: failing })).rejects.toThrow('device lost');
    expect(await readFile(path)).toEqual(before);
    expect(await readdir(sub)).toEqual(['model.safetensors']);
  });

  it('a disposed tensor fails the save the same way', async () => {
    const sub = await mkdtemp(join(dir, 'disposed-'));
    const path = join(sub, 'model.safetensors');
    await saveSafetensors(path, record(1));
    const before = await readFile(path);
    const gone = k.full([4], 3);
    gone.dispose();
    await expect(saveSafetensors(path, { ...record(2), z: gone })).rejects.toThrow(/used after dispose/);
    expect(await readFile(path)).toEqual(before);
    expect(await readdir(sub)).toEqual(['model.safetensors']);
  });

  it('invalid metadata fails before the file system is touched', async () => {
    const sub = await mkdtemp(join(dir, 'invalid-'));
    const path = join(sub, 'model.safetensors');
    await expect(saveSafetensors(path, record(1), { epoch: 1 as unknown as string })).rejects.toThrow(
      /saveSafetensors: metadata value for key "epoch" must be a string/,
    );
    expect(await readdir(sub)).toEqual([]);
  });

  it('readers during repeated saves always see one complete version', async () => {
    const sub = await mkdtemp(join(dir, 'race-'));
    const path = join(sub, 'model.safetensors');
    await saveSafetensors(path, record(0));
    let writing = true;
    const seen = new Set<number>();
    const reader = (async () => {
      while (writing) {
        const loaded = await loadSafetensors(new Uint8Array(await readFile(path)));
        const a = await values(loaded.a);
        expect(new Set(a).size).toBe(1);
        expect(await values(loaded.b)).toEqual(new Array(6).fill(BigInt(a[0] as number)));
        seen.add(a[0] as number);
      }
    })();
    for (let v = 1; v <= 30; v++) await saveSafetensors(path, record(v));
    writing = false;
    await reader;
    expect(seen.size).toBeGreaterThan(1);
    expect(await readdir(sub)).toEqual(['model.safetensors']);
  });

  it('writing through a symlink replaces its target and keeps the link', async () => {
    const sub = await mkdtemp(join(dir, 'link-'));
    const target = join(sub, 'real.safetensors');
    const link = join(sub, 'link.safetensors');
    await saveSafetensors(target, record(1));
    await symlink(target, link);
    await saveSafetensors(link, record(5));
    expect(await values((await loadSafetensors(target)).a)).toEqual(new Array(64).fill(5));
    expect((await readdir(sub)).sort()).toEqual(['link.safetensors', 'real.safetensors']);
  });

  it('a directory that does not exist is an error and creates nothing', async () => {
    await expect(saveSafetensors(join(dir, 'no-such-dir', 'm.safetensors'), record(1))).rejects.toThrow(
      /ENOENT/,
    );
  });
});
