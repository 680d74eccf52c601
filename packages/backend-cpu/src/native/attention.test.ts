// The fused attention kernels against core's composite from primitives (batched matmul, where,
// softmax: what core runs on a backend without the fused slots), forward and all three gradients.
// The reference is a second 'cpu' backend without the slots, in float64 on the same
// (float32-rounded) inputs. The sizes span several of the addon's 32-row query blocks with a partial
// last one; the masks cover causal, broadcast padding, rows with every key masked (which must weigh
// all keys 1 / S, backward included) and fewer queries than keys (a key/value cache).
// kernels/attention.ts (the native path's float64 kernel) is checked on a backend given just it, so
// it runs whether or not the addon is built; the addon's cases are skipped, saying so, where it is not.
import type { DType, Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { describe, expect, it } from 'vitest';
import { createCpuBackend, TS_KERNELS } from '../backend.js';
import { loadNative } from './load.js';

const addon = loadNative('auto').addon;

k.registerBackend('cpu_composite', () => createCpuBackend({ native: false }));
k.registerBackend('cpu_ts_attention', () => {
  const b = createCpuBackend({ native: false });
  const { attention, attentionBackward } = TS_KERNELS;
  return { ...b, fused: { ...b.fused, attention, attentionBackward } };
});
if (addon) k.registerBackend('cpu_native_attention', () => createCpuBackend({ native: true }));

let seed = 424242;
function random(n: number): number[] {
  return Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return Math.fround((seed / 2 ** 32) * 2 - 1);
  });
}

interface Case {
  label: string;
  b: number;
  h: number;
  l: number;
  s: number;
  e: number;
  ev: number;
  causal?: boolean;
  scale?: number;
  /**
   * The mask's shape (4-d, broadcastable to [B, H, L, S]) and whether each of its entries is true;
   * `transposed`: held as [.., S, L] and viewed transposed (the key dim strided, not contiguous).
   */
  mask?: { shape: number[]; allowed: (index: number[]) => boolean; transposed?: boolean };
}

const B = 2;
const H = 3;
const N = 130;
/** The geometry most cases share: L = S = N, several query blocks with a partial last one. */
const FULL = { b: B, h: H, l: N, s: N, e: 40, ev: 24 };
const CASES: Case[] = [
  { label: 'no mask, L = S = 130', ...FULL },
  {
    label: 'causal, scale 2 (peaked weights)',
    ...FULL,
    causal: true,
    scale: 2,
  },
  {
    label: 'padding mask [B, 1, 1, S] (batch 0 sees keys < 97, batch 1 keys < 41 but key 7)',
    ...FULL,
    mask: { shape: [B, 1, 1, N], allowed: ([b, , , j]) => (b === 0 ? j < 97 : j < 41 && j !== 7) },
  },
  {
    label: 'random mask [B, 1, L, S] with every key masked for queries 3, 64 and 129 of batch 1',
    ...FULL,
    mask: {
      shape: [B, 1, N, N],
      allowed: ([b, , i, j]) =>
        !(b === 1 && (i === 3 || i === 64 || i === 129)) && (i * 31 + j * 17 + b) % 5 !== 0,
    },
  },
  {
    label: 'the same kind of mask read through a transposed view (keys L apart)',
    ...FULL,
    mask: {
      shape: [B, 1, N, N],
      allowed: ([b, , i, j]) => !(b === 0 && i === 77) && (i * 7 + j * 11 + b) % 3 !== 0,
      transposed: true,
    },
  },
  {
    label: "GPT's causal bool mask [1, 1, L, S], no causal flag",
    ...FULL,
    mask: { shape: [1, 1, N, N], allowed: ([, , i, j]) => j <= i },
  },
  {
    label: 'causal with left padding: the first 20 queries of batch 1 see no key',
    ...FULL,
    causal: true,
    mask: { shape: [B, 1, 1, N], allowed: ([b, , , j]) => b === 0 || j >= 20 },
  },
  {
    label: 'causal, 70 queries over 130 keys (key/value cache)',
    ...FULL,
    l: 70,
    causal: true,
  },
  {
    label: '70 queries over 130 keys with a padding mask',
    ...FULL,
    l: 70,
    mask: { shape: [B, 1, 1, N], allowed: ([b, , , j]) => j < N - 9 * b },
  },
  { label: 'one query, one key', b: 1, h: 1, l: 1, s: 1, e: 3, ev: 2 },
];

/** The case whose label starts with `prefix`. */
function caseNamed(prefix: string): Case {
  const c = CASES.find((x) => x.label.startsWith(prefix));
  if (!c) throw new Error(`no attention case named '${prefix}...'`);
  return c;
}

/** The mask's entries in the order it is held (see Case.mask). */
function maskValues(m: NonNullable<Case['mask']>): boolean[] {
  const [b, h, l, s] = m.shape;
  const held = m.transposed ? [b, h, s, l] : m.shape;
  return Array.from({ length: b * h * l * s }, (_, flat) => {
    const index: number[] = [];
    for (let d = 3, r = flat; d >= 0; d--) {
      index[d] = r % held[d];
      r = Math.floor(r / held[d]);
    }
    if (m.transposed) [index[2], index[3]] = [index[3], index[2]];
    return m.allowed(index);
  });
}

function maskTensor(m: NonNullable<Case['mask']>, values: boolean[], device: string): Tensor {
  const t = k.tensor(values, { dtype: 'bool', device });
  const [b, h, l, s] = m.shape;
  return m.transposed ? k.transpose(t.reshape([b, h, s, l]), 2, 3) : t.reshape(m.shape);
}

interface Inputs {
  q: number[];
  k: number[];
  v: number[];
  /** The upstream gradient of the output. */
  g: number[];
  mask: boolean[] | null;
}

function inputsFor(c: Case): Inputs {
  return {
    q: random(c.b * c.h * c.l * c.e),
    k: random(c.b * c.h * c.s * c.e),
    v: random(c.b * c.h * c.s * c.ev),
    g: random(c.b * c.h * c.l * c.ev),
    mask: c.mask ? maskValues(c.mask) : null,
  };
}

/** [out, dq, dk, dv] (null where not asked for) of scaledDotProductAttention on `device`. */
function run(
  device: string,
  dtype: DType,
  c: Case,
  x: Inputs,
  needs: [boolean, boolean, boolean] = [true, true, true],
): (number[] | null)[] {
  return k.tidy(() => {
    const leaf = (values: number[], shape: number[], need: boolean) =>
      k.tensor(values, { dtype, device }).reshape(shape).requiresGrad_(need);
    const q = leaf(x.q, [c.b, c.h, c.l, c.e], needs[0]);
    const key = leaf(x.k, [c.b, c.h, c.s, c.e], needs[1]);
    const v = leaf(x.v, [c.b, c.h, c.s, c.ev], needs[2]);
    const mask = c.mask && x.mask ? maskTensor(c.mask, x.mask, device) : null;
    const out = k.scaledDotProductAttention(q, key, v, { mask, causal: c.causal, scale: c.scale });
    const wanted = [q, key, v].filter((_, i) => needs[i]);
    const grads = k.grad(out.mul(k.tensor(x.g, { dtype, device }).reshape(out.shape)).sum(), wanted);
    let next = 0;
    const values = (t: Tensor | null) => (t === null ? null : Array.from(t.dataSync(), Number));
    return [values(out), ...needs.map((n) => (n ? values(grads[next++]) : null))];
  });
}

/** Every |actual - expected| within atol + rtol |expected|. */
function expectClose(
  actual: number[] | null,
  expected: number[] | null,
  rtol: number,
  atol: number,
  what: string,
) {
  expect(actual === null, `${what}: present`).toBe(expected === null);
  if (actual === null || expected === null) return;
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < actual.length; i++) {
    const excess = Math.abs(actual[i] - expected[i]) - rtol * Math.abs(expected[i]);
    if (!(excess <= worst)) {
      worst = excess;
      at = i;
    }
  }
  expect(worst, `${what}: largest excess over ${rtol}·|expected| (element ${at})`).toBeLessThanOrEqual(atol);
}

const NAMES = ['out', 'dq', 'dk', 'dv'];
const TOL: Record<'float32' | 'float64', [number, number]> = {
  float32: [1e-5, 5e-6],
  float64: [1e-10, 1e-12],
};

function expectMatchesComposite(device: string, dtype: 'float32' | 'float64', c: Case): void {
  const x = inputsFor(c);
  const expected = run('cpu_composite', 'float64', c, x);
  const actual = run(device, dtype, c, x);
  const [rtol, atol] = TOL[dtype];
  actual.forEach((a, i) => {
    expectClose(a, expected[i], rtol, atol, `${c.label}: ${NAMES[i]}`);
  });
}

describe('kernels/attention.ts (float64 on the native path) vs the composite', () => {
  for (const c of CASES) {
    it(c.label, () => expectMatchesComposite('cpu_ts_attention', 'float64', c));
  }
});

describe.skipIf(addon === null)('native fused attention (addon built) vs the composite', () => {
  it('is the backend slot core calls', () => {
    const b = createCpuBackend({ native: true });
    expect(typeof b.fused.attention).toBe('function');
    expect(typeof b.fused.attentionBackward).toBe('function');
  });

  for (const c of CASES) {
    it(`float32: ${c.label}`, () => expectMatchesComposite('cpu_native_attention', 'float32', c));
  }

  it('float64 goes to kernels/attention.ts', () =>
    expectMatchesComposite('cpu_native_attention', 'float64', caseNamed('random mask')));

  it('computes only the gradients asked for (q constant; then only v)', () => {
    const c = caseNamed('causal with left padding');
    const x = inputsFor(c);
    for (const needs of [
      [false, true, true],
      [false, false, true],
    ] as [boolean, boolean, boolean][]) {
      const expected = run('cpu_composite', 'float64', c, x, needs);
      const actual = run('cpu_native_attention', 'float32', c, x, needs);
      actual.forEach((a, i) => {
        expectClose(a, expected[i], ...TOL.float32, `${NAMES[i]} with needs ${needs}`);
      });
    }
  });

  it('rejects operands that do not fit their arrays, before touching memory', () => {
    if (!addon) return;
    const f = (n: number) => new Float32Array(n);
    // B H L S E Ev scale causal | mask offset, strides | offsets of q, k, v, out, lse
    const meta = (maskStrides: number[], lseOffset: number) =>
      Float64Array.from([1, 1, 2, 3, 4, 5, 0.5, 0, 0, ...maskStrides, 0, 0, 0, 0, lseOffset]);
    const call = (mask: Uint8Array | null, m: Float64Array) =>
      addon.attentionF32(f(8), f(12), f(15), mask, f(10), f(2), m);
    expect(() => call(null, meta([0, 0, 0, 0], 0))).not.toThrow();
    expect(() => call(null, meta([0, 0, 0, 0], 1))).toThrow(/attention lse/);
    expect(() => call(new Uint8Array(6), meta([0, 0, 3, 1], 0))).not.toThrow();
    expect(() => call(new Uint8Array(5), meta([0, 0, 3, 1], 0))).toThrow(/attention mask/);
    expect(() => addon.attentionF32(f(8), f(11), f(15), null, f(10), f(2), meta([0, 0, 0, 0], 0))).toThrow(
      /attention k/,
    );
    const backwardMeta = Float64Array.from([1, 1, 2, 3, 4, 5, 0.5, 1, 0, 0, 0, 0, 0, ...Array(9).fill(0)]);
    const grads = (gk: Float32Array) =>
      addon.attentionBackwardF32(f(10), f(8), f(12), f(15), null, f(10), f(2), null, gk, null, backwardMeta);
    expect(() => grads(f(12))).not.toThrow();
    expect(() => grads(f(11))).toThrow(/attentionBackward gradK/);
  });

  it('writes nothing outside its operands (each inside a larger array, at an offset)', () => {
    if (!addon) return;
    const [b, h, l, s, e, ev] = [1, 2, 67, 5, 3, 2];
    const pad = 7;
    const input = (n: number) => Float32Array.from(random(n + 2 * pad));
    const output = (n: number) => new Float32Array(n + 2 * pad).fill(42);
    const [q, key, v, g] = [l * e, s * e, s * ev, l * ev].map((n) => input(b * h * n));
    const [out, lse] = [output(b * h * l * ev), output(b * h * l)];
    const [gq, gk, gv] = [l * e, s * e, s * ev].map((n) => output(b * h * n));
    const head = [b, h, l, s, e, ev, 1, 1, 0, 0, 0, 0, 0];
    addon.attentionF32(q, key, v, null, out, lse, Float64Array.from([...head, ...Array(5).fill(pad)]));
    addon.attentionBackwardF32(
      g,
      q,
      key,
      v,
      null,
      out,
      lse,
      gq,
      gk,
      gv,
      Float64Array.from([...head, ...Array(9).fill(pad)]),
    );
    for (const a of [out, lse, gq, gk, gv]) {
      expect([...a.subarray(0, pad), ...a.subarray(a.length - pad)]).toEqual(Array(2 * pad).fill(42));
      expect(a.subarray(pad, a.length - pad).includes(42)).toBe(false);
    }
  });
});
