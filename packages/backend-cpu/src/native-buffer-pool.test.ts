// The float32 buffer pool the native path allocates from: reuse is invisible (zeroed memory, no
// sharing), and only arrays the pool made are ever reused.
import * as k from '@kiln/core';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from './backend.js';
import { Float32Pool } from './native/buffer-pool.js';
import { loadNative } from './native/load.js';

const BIG = 1 << 17;

describe('Float32Pool', () => {
  it('reuses a returned array of the same size', () => {
    const pool = new Float32Pool(64 * 2 ** 20);
    const a = pool.take(BIG);
    pool.give(a);
    expect(pool.pooledBytes).toBe(BIG * 4);
    expect(pool.take(BIG)).toBe(a);
    expect(pool.pooledBytes).toBe(0);
  });

  it('in poison mode pools every size and fills reused arrays with NaN', () => {
    const pool = new Float32Pool(64 * 2 ** 20, { poison: true });
    const a = pool.take(3);
    pool.give(a);
    const b = pool.take(3);
    expect(b).toBe(a);
    expect(Array.from(b).every(Number.isNaN)).toBe(true);
  });

  it('hands an array out once even if it is returned twice', () => {
    const pool = new Float32Pool(64 * 2 ** 20);
    const a = pool.take(BIG);
    pool.give(a);
    pool.give(a);
    expect(pool.take(BIG)).toBe(a);
    expect(pool.take(BIG)).not.toBe(a);
  });

  it('never reuses arrays it did not allocate, small arrays, or beyond its byte budget', () => {
    const pool = new Float32Pool(BIG * 4);
    const foreign = new Float32Array(BIG);
    pool.give(foreign);
    expect(pool.take(BIG)).not.toBe(foreign);
    const small = pool.take(16);
    pool.give(small);
    expect(pool.take(16)).not.toBe(small);
    const x = pool.take(BIG);
    const y = pool.take(BIG);
    pool.give(x);
    pool.give(y); // over budget: dropped
    expect(pool.pooledBytes).toBe(BIG * 4);
  });
});

describe.skipIf(loadNative('auto').addon === null)('the native backend recycles buffers', () => {
  it('results stay right when a training-like loop reuses freed buffers', () => {
    k.registerBackend('cpu', () => createCpuBackend({ native: 'auto' }));
    k.manualSeed(1);
    const x = k.randn([BIG]);
    const expected = x.toArraySync() as number[];
    for (let step = 0; step < 5; step++) {
      k.tidy(() => {
        const y = x.mul(2).add(1).relu();
        const got = y.toArraySync() as number[];
        for (const i of [0, 1, 777, BIG - 1]) expect(got[i]).toBeCloseTo(Math.max(expected[i] * 2 + 1, 0), 5);
        // zeros of a recycled size reads as zeros (core fills; the pool does not clear)
        expect(k.zeros([BIG]).sum().itemSync()).toBe(0);
      });
    }
    x.dispose();
  });
});
