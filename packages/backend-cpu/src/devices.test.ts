// Device semantics, tested with a second instance of the CPU backend registered under another
// device type: mixing devices is an error naming both, `to()` moves data and gradients flow back.
import * as k from '@kiln/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createCpuBackend } from './backend.js';
import './index.js';

k.registerBackend('alt', () => createCpuBackend(), { deviceCount: () => 2 });

describe('devices', () => {
  afterEach(() => k.setDefaultDevice('cpu'));

  it('lists registered devices, expanding device counts', () => {
    expect(k.devices()).toEqual(expect.arrayContaining(['cpu', 'alt', 'alt:1']));
    expect(k.canonicalDevice('alt:0')).toBe('alt');
  });

  it('refuses to mix devices in one op and names both', () => {
    const a = k.ones([2]);
    const b = k.ones([2], { device: 'alt' });
    expect(() => a.add(b)).toThrow(
      "add: expected all tensors to be on the same device, but found at least two devices, 'cpu' and 'alt'",
    );
    expect(() => k.cat([a, b])).toThrow(/cat: .*'cpu' and 'alt'/);
  });

  it('moves tensors with to() and sends gradients back to the source device', async () => {
    const x = k.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
    const y = x.to('alt:1');
    expect(y.device).toBe('alt:1');
    expect(await y.toArray()).toEqual([1, 2, 3]);
    y.mul(y).sum().backward();
    expect(x.grad!.device).toBe('cpu');
    expect(await x.grad!.toArray()).toEqual([2, 4, 6]);
  });

  it('setDefaultDevice decides where factories allocate', () => {
    k.setDefaultDevice('alt');
    expect(k.zeros([2]).device).toBe('alt');
    expect(k.randn([2]).device).toBe('alt');
  });

  it('an unknown device says which backends exist and how to add one', () => {
    expect(() => k.zeros([2], { device: 'webgpu' })).toThrow(
      /no backend registered for device 'webgpu' \(registered: .*cpu.*\)\. Install and import its package/,
    );
    expect(() => k.zeros([2], { device: 'cuda:x' })).toThrow(/invalid device string/);
  });

  it('float16 is stored and converted but arithmetic on it is a clear error', async () => {
    const h = k.tensor([1.5, -2.25, 65504], { dtype: 'float16' });
    expect(h.dtype).toBe('float16');
    expect(Array.from(await h.data(), Number)).toEqual([1.5, -2.25, 65504]);
    expect(() => h.add(1)).toThrow("add: dtype float16 is not supported for computation on device 'cpu'");
    expect(await h.to('float32').add(1).toArray()).toEqual([2.5, -1.25, 65505]);
    expect(
      await k
        .tensor([1 / 3], { dtype: 'bfloat16' })
        .to('float32')
        .item(),
    ).toBe(0.333984375);
  });

  it('int64 reads back as BigInt64Array and converts exactly within 2^53', async () => {
    const big = 2 ** 53 - 1;
    const t = k.tensor([big, -5], { dtype: 'int64' });
    const d = await t.data();
    expect(d).toBeInstanceOf(BigInt64Array);
    expect(Array.from(d as BigInt64Array)).toEqual([BigInt(big), -5n]);
    expect(t.sum().dtype).toBe('int64');
  });
});
