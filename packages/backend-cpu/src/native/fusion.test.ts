// Elementwise fusion on the native path (fusion.ts): large float32 chains are recorded instead of
// run, give bit-identical results to the op-by-op kernels, and never observe a later write, a
// freed input or a recycled buffer. Skipped, saying so, where the addon is not built.
import * as k from '@kiln/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../backend.js';
import type { CpuBuffer } from '../buffer.js';
import { NATIVE_THRESHOLDS } from './kernels.js';
import { loadNative } from './load.js';

const N = 1 << 16; // above the fusion threshold
const pending = (t: k.Tensor): boolean => (t.kernel.buffer as CpuBuffer).pending !== null;
const host = (t: k.Tensor): Float32Array => Float32Array.from(t.reshape([-1]).toArraySync() as number[]);

/** Runs `fn` with fusion off (every op at once) and returns the host values. */
function unfused(fn: () => k.Tensor): Float32Array {
  const saved = NATIVE_THRESHOLDS.fusion;
  NATIVE_THRESHOLDS.fusion = Number.POSITIVE_INFINITY;
  try {
    return host(fn());
  } finally {
    NATIVE_THRESHOLDS.fusion = saved;
  }
}

describe.skipIf(loadNative('auto').addon === null)('elementwise fusion (native addon built)', () => {
  beforeAll(() => {
    k.registerBackend('cpu', () => createCpuBackend({ native: true }));
    k.manualSeed(7);
  });
  afterAll(() => k.registerBackend('cpu', () => createCpuBackend()));

  it('records a chain and runs it on first read, bit for bit as op by op', () => {
    const x = k.randn([N]);
    const chain = () => x.mul(2).add(1).relu().sub(x.exp()).div(3).neg().tanh();
    const y = chain();
    expect(pending(y)).toBe(true);
    expect(host(y)).toEqual(unfused(chain));
    expect(pending(y)).toBe(false);
  });

  it('sums a pending chain without running it into its buffer (W2: relu(x * 2 + 1).sum())', () => {
    const x = k.randn([256, 256]);
    const y = x.mul(2).add(1).relu();
    const s = y.sum();
    expect(pending(y)).toBe(true);
    const ref = unfused(() => x.mul(2).add(1).relu());
    let expected = 0;
    for (const v of ref) expected += v;
    expect(Math.abs(s.itemSync() - expected)).toBeLessThan(1e-6 * Math.abs(expected));
  });

  it('a write after recording does not change what the recorded ops see', () => {
    const x = k.randn([N]);
    const before = host(x);
    const y = x.mul(2).add(1);
    x.add_(100); // in place: runs y first
    const got = host(y);
    for (const i of [0, 1, 4097, N - 1]) expect(got[i]).toBe(Math.fround(Math.fround(before[i] * 2) + 1));
    const s = k.tensor(2);
    const z = x.mul(s);
    s.fill_(5); // a scalar operand too
    expect(host(z)[3]).toBe(Math.fround(host(x)[3] * 2));
  });

  it('an input freed (and its memory recycled) before the program runs', () => {
    const x = k.randn([N]);
    const expected = unfused(() => x.mul(3).sub(1));
    const y = x.mul(3).sub(1);
    x.dispose(); // returns x's array to the pool only after y has run
    // These would take x's array from the pool if it came back early, and overwrite it.
    const reuse = [k.randn([N]), k.zeros([N]).add(42)];
    expect(host(y)).toEqual(expected);
    expect(host(reuse[1])[0]).toBe(42);
  });

  it('a pending buffer freed unread never runs, and views of a pending buffer read it run', () => {
    const x = k.randn([64, 1024]);
    k.tidy(() => {
      const dead = x.mul(2).exp();
      expect(pending(dead)).toBe(true);
    });
    const y = x.mul(2).add(x); // x read twice: one input, two loads
    const expected = unfused(() => x.mul(2).add(x));
    const t = y.T.contiguous();
    expect(host(t.T.contiguous())).toEqual(expected);
    expect(host(y.narrow(0, 5, 3)).length).toBe(3 * 1024);
  });

  describe('scalar multiply/divide, add/subtract and relu merged into one pass (fusion.cc planSteps)', () => {
    // Normal values, the special ones and a length with a tail past every vector loop.
    const special = [Number.NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 3e38, -3e38, 1e-7, -0.5, 0.5];
    const values = (): k.Tensor => {
      const v = host(k.randn([N + 13]).mul(4));
      special.forEach((s, i) => {
        v[i * 997] = s;
      });
      return k.tensor(v);
    };
    // The first element whose bits differ (any NaN matches any NaN: a payload is not part of an
    // op's contract), or null.
    const mismatch = (got: Float32Array, want: Float32Array): string | null => {
      const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
      const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
      for (let i = 0; i < want.length; i++) {
        if (g[i] !== w[i] && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
          return `element ${i}: ${got[i]} where op by op gives ${want[i]}`;
        }
      }
      return got.length === want.length ? null : `${got.length} elements, not ${want.length}`;
    };
    const chains: [string, (x: k.Tensor) => k.Tensor][] = [
      ['relu(x * 2 + 1)', (x) => x.mul(2).add(1).relu()],
      ['x / 3 - 0.5', (x) => x.div(3).sub(0.5)],
      [
        'x * 1.1 + 0.3: the product is rounded before the add (no fused multiply-add)',
        (x) => x.mul(1.1).add(0.3),
      ],
      ['x * -0.75 alone', (x) => x.mul(-0.75)],
      ['x / -0 alone', (x) => x.div(-0)],
      ['x - 0, x + -0, x - -0', (x) => x.sub(0).mul(1.5).add(-0).sub(-0)],
      ['relu(x + 1) alone', (x) => x.add(1).relu()],
      ['relu(x * 3) then + 1 (relu ends a merge)', (x) => x.mul(3).relu().add(1)],
      [
        'scalar on the left: 1 + 2 * x, then + 1 - 1 and neg',
        (x) => k.add(1, k.mul(2, x)).add(1).sub(1).neg(),
      ],
      ['non-merging order: 1 - x, 1 / x', (x) => k.div(1, k.sub(1, x))],
      ['(x + 1) * 2: add then multiply stays two roundings', (x) => x.add(1).mul(2).relu()],
      ['x * inf - inf', (x) => x.mul(Infinity).sub(Infinity)],
      ['x * NaN + 1', (x) => x.mul(Number.NaN).add(1)],
      [
        'an intermediate read twice is not merged away',
        (x) => {
          const y = x.mul(2);
          return y.add(1).relu().add(y);
        },
      ],
      ['a tensor operand is not a scalar', (x) => x.mul(x).add(1).relu()],
    ];
    for (const [name, chain] of chains) {
      it(name, () => {
        const x = values();
        const y = chain(x);
        expect(pending(y)).toBe(true);
        expect(
          mismatch(
            host(y),
            unfused(() => chain(x)),
          ),
        ).toBeNull();
      });
    }

    // One-pass programs run a task's whole range in one call; any pass that stores into a
    // register must still go block by block (the AddressSanitizer run checks the bounds).
    it('a summed program sums its last merged pass without storing it, as the unfused sum', () => {
      const x = k.randn([N + 13]).mul(4);
      for (const chain of [
        (t: k.Tensor) => t.mul(2).add(1).relu(),
        (t: k.Tensor) => t.div(3).sub(0.5),
        (t: k.Tensor) => t.mul(t).add(1),
        (t: k.Tensor) => t.mul(t),
        (t: k.Tensor) => t.exp(),
      ]) {
        const y = chain(x);
        const s = y.sum().itemSync();
        expect(pending(y)).toBe(true);
        let expected = 0;
        for (const v of unfused(() => chain(x))) expected += v;
        expect(Math.abs(s - expected)).toBeLessThan(1e-6 * Math.abs(expected));
      }
    });
  });

  it('past the instruction limit or with broadcast operands it runs op by op, with the same results', () => {
    const x = k.randn([N]);
    const long = () => {
      let y = x;
      for (let i = 0; i < 20; i++) y = y.mul(1.01).add(0.01);
      return y;
    };
    expect(host(long())).toEqual(unfused(long));
    const rows = k.randn([256, 256]);
    const col = k.randn([256, 1]);
    const bcast = () => rows.mul(col).add(1);
    expect(host(bcast())).toEqual(unfused(bcast));
  });
});

describe.skipIf(loadNative('auto').addon === null)(
  'evalProgramF32 checks its arguments (addon built)',
  () => {
    const addon = loadNative('auto').addon!;
    const relu = addon.info.unaryOps.indexOf('relu');
    const add = addon.info.binaryOps.indexOf('add');
    const x = new Float32Array(10).fill(-1);
    const run = (code: number[], offsets = [0], n = 10, out: Float32Array | null = new Float32Array(10)) =>
      addon.evalProgramF32(Int32Array.from(code), [x], Float64Array.from(offsets), Uint8Array.of(0), n, out);
    it('runs a valid program', () => {
      const out = new Float32Array(10);
      expect(run([0, 0, 0, 0, 1, relu, 0, 0], [0], 10, out)).toBe(0);
      expect(Array.from(out)).toEqual(new Array(10).fill(0));
      expect(run([0, 0, 0, 0, 2, add, 0, 0], [0], 10, null)).toBe(-20);
    });
    it('rejects reads outside the arrays, forward register reads, a trailing load and unknown ops', () => {
      expect(() => run([0, 0, 0, 0, 1, relu, 0, 0], [1])).toThrow(/outside its array/);
      expect(() => run([0, 0, 0, 0, 1, relu, 0, 0], [0], 11, new Float32Array(11))).toThrow(
        /outside its array/,
      );
      expect(() => run([0, 0, 0, 0, 1, relu, 0, 0], [0], 10, new Float32Array(9))).toThrow(/fewer than n/);
      expect(() => run([1, relu, 1, 0, 0, 0, 0, 0])).toThrow(/earlier registers/);
      expect(() => run([0, 0, 0, 0])).toThrow(/must end with an op/);
      expect(() => run([0, 1, 0, 0, 1, relu, 0, 0])).toThrow(/missing input/);
      expect(() => run([0, 0, 0, 0, 1, 999, 0, 0])).toThrow(/unknown op code/);
      expect(() => run([0, 0, 0, 0, 7, 0, 0, 0])).toThrow(/unknown instruction kind/);
      expect(() => run(new Array(4 * 17).fill(0))).toThrow(/instructions/);
    });
  },
);
