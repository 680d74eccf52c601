// The 'webgpu' device as users meet it: async initialisation, async-only reads, which dtypes it
// holds and how narrow ones round-trip, and the pool's size classes.
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyWebGPUBackend, webgpuAdapterInfo } from './index.js';
import { sizeClass } from './pool.js';

beforeAll(() => k.ready('webgpu'));
afterAll(destroyWebGPUBackend);

const device = 'webgpu';

describe('initialisation and reads', () => {
  it("registers 'webgpu', initialised by await k.ready('webgpu')", async () => {
    expect(k.devices()).toContain('webgpu');
    const a = k.tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { device },
    );
    expect(await a.T.mul(2).add(1).toArray()).toEqual([
      [3, 9],
      [5, 11],
      [7, 13],
    ]);
  });

  it('reports its adapter, flagging a software one (SwiftShader, the adapter of machines without a GPU)', async () => {
    const info = await webgpuAdapterInfo();
    expect(typeof info.vendor).toBe('string');
    // The Vulkan ICD the tests select (vitest.config.ts) is SwiftShader: a fallback adapter.
    if (process.env.VK_ICD_FILENAMES?.includes('swiftshader')) expect(info.isFallbackAdapter).toBe(true);
  });

  it('dataSync() says to await data()', () => {
    const t = k.ones([2], { device });
    expect(() => t.dataSync()).toThrow(/await t\.data\(\)/);
  });
});

describe('dtypes', () => {
  it('float64 and int64 are a clear unsupported-dtype error', () => {
    expect(() => k.zeros([2], { dtype: 'float64', device })).toThrow(
      /dtype float64 is not supported on device 'webgpu'/,
    );
    expect(() => k.tensor([1, 2], { device: 'cpu', dtype: 'int64' }).to(device)).toThrow(
      /int64 is not supported/,
    );
  });

  it('bool, uint8 and int8 are widened and round-trip, with C-style wrapping on casts', async () => {
    const b = k.tensor([true, false, true], { device });
    expect(Array.from(await b.data(), Number)).toEqual([1, 0, 1]);
    const i = k.tensor([-1, 255, 256, 130], { device });
    expect(Array.from(await i.to('uint8').data(), Number)).toEqual([255, 255, 0, 130]);
    expect(Array.from(await i.to('int8').data(), Number)).toEqual([-1, -1, 0, -126]);
  });

  it('float16 and bfloat16 are stored at their own precision', async () => {
    const x = k.tensor([1 / 3, 65520, 1e-8], { device });
    const h = Array.from(await x.to('float16').data(), Number);
    const ref = Array.from(
      await k
        .tensor([1 / 3, 65520, 1e-8])
        .to('float16')
        .data(),
      Number,
    );
    expect(h).toEqual(ref);
    const bf = Array.from(await x.to('bfloat16').data(), Number);
    expect(bf).toEqual(
      Array.from(
        await k
          .tensor([1 / 3, 65520, 1e-8])
          .to('bfloat16')
          .data(),
        Number,
      ),
    );
  });
});

describe('buffer pool', () => {
  it('rounds sizes up to four classes per power of two (at most 25% waste)', () => {
    expect(sizeClass(1)).toBe(256);
    expect(sizeClass(1000)).toBe(1024);
    expect(sizeClass(1025)).toBe(1280);
    for (const n of [3000, 65537, 10_000_000]) {
      expect(sizeClass(n)).toBeGreaterThanOrEqual(n);
      expect(sizeClass(n)).toBeLessThanOrEqual(n * 1.25 + 256);
    }
  });
});
