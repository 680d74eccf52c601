// The native kernels against the TypeScript kernels they replace, on random operands of odd sizes,
// with offsets, transposed and broadcast (stride-0) views; and the addon's own argument checks.
// Skipped, with the reason, where the addon is not built.
import type { Conv2dParams, KernelTensor } from '@kiln/core';
import { contiguousStrides } from '@kiln/core';
import { describe, expect, it } from 'vitest';
import { TS_KERNELS } from './backend.js';
import { CpuBuffer } from './buffer.js';
import { NATIVE_THRESHOLDS, nativeKernels } from './native/kernels.js';
import { loadNative } from './native/load.js';

const status = loadNative('auto');
const addon = status.addon;
const ts = TS_KERNELS;
// Every size goes native here, so small cases test the addon too.
for (const key of Object.keys(NATIVE_THRESHOLDS) as (keyof typeof NATIVE_THRESHOLDS)[])
  NATIVE_THRESHOLDS[key] = 0;
const native = addon ? nativeKernels(addon, ts) : ts;

let seed = 12345;
function rand(): number {
  // xorshift: reproducible operands
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32 - 0.5;
}

/** A view of `shape` into a fresh random array, with a leading offset and optional permutation/padding. */
function view(
  shape: number[],
  opts: { offset?: number; strides?: number[]; size?: number } = {},
): KernelTensor {
  const strides = opts.strides ?? contiguousStrides(shape);
  const offset = opts.offset ?? 0;
  let extent = 1;
  shape.forEach((s, d) => {
    extent += (s - 1) * Math.abs(strides[d]);
  });
  const size = opts.size ?? offset + (shape.some((s) => s === 0) ? 0 : extent) + 3;
  const data = Float32Array.from({ length: size }, rand);
  return { buffer: new CpuBuffer(data), dtype: 'float32', shape, strides, offset };
}

function zerosLike(t: KernelTensor): KernelTensor {
  const data = (t.buffer as CpuBuffer).data;
  return { ...t, buffer: new CpuBuffer(new Float32Array(data.length)) };
}

function values(t: KernelTensor): number[] {
  const data = (t.buffer as CpuBuffer).data;
  const out: number[] = [];
  const idx = new Array(t.shape.length).fill(0);
  const total = t.shape.reduce((a, b) => a * b, 1);
  for (let i = 0; i < total; i++) {
    let o = t.offset;
    idx.forEach((v, d) => {
      o += v * t.strides[d];
    });
    out.push(data[o]);
    for (let d = t.shape.length - 1; d >= 0; d--) {
      if (++idx[d] < t.shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** Native and TypeScript results agree within float32 tolerance (the conformance suite's). */
function expectClose(actual: KernelTensor, expected: KernelTensor, rtol = 1e-4, atol = 1e-5): void {
  const a = values(actual);
  const e = values(expected);
  expect(a.length).toBe(e.length);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(e[i])) {
      if (!Number.isNaN(a[i])) expect(a[i], `element ${i}`).toBeNaN();
      continue;
    }
    // expect() only on a failure: millions of passing calls would dominate the large cases.
    if (a[i] === e[i] || Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i])) continue;
    expect(Math.abs(a[i] - e[i]), `element ${i}: ${a[i]} vs ${e[i]}`).toBeLessThanOrEqual(
      atol + rtol * Math.abs(e[i]),
    );
  }
}

describe.skipIf(addon === null)(`native kernels vs TypeScript kernels (${status.detail})`, () => {
  describe('matmul', () => {
    const cases: [number, number, number, number][] = [
      [1, 1, 1, 1],
      [1, 7, 13, 5],
      [3, 17, 33, 19],
      [2, 6, 16, 16],
      [1, 150, 300, 70],
      [1, 301, 257, 130],
      [4, 64, 64, 65],
    ];
    for (const [batch, m, k, n] of cases) {
      it(`[${batch},${m},${k}] x [${batch},${k},${n}] contiguous, offsets, transposed and broadcast`, () => {
        const layouts = [
          { a: view([batch, m, k]), b: view([batch, k, n]) },
          // offsets, A transposed (column-major per batch), B with a padded row pitch
          {
            a: view([batch, m, k], { offset: 5, strides: [m * k, 1, m] }),
            b: view([batch, k, n], { offset: 2, strides: [k * (n + 3), n + 3, 1] }),
          },
          // B broadcast over the batch (stride 0) and transposed
          { a: view([batch, m, k]), b: view([batch, k, n], { strides: [0, 1, k] }) },
        ];
        for (const { a, b } of layouts) {
          const outN = view([batch, m, n]);
          const outT = zerosLike(outN);
          native.matmul(a, b, outN);
          ts.matmul(a, b, outT);
          expectClose(outN, outT);
        }
      });
    }
    // M <= 4 reads B in place (GEMV): B as a transposed view of a contiguous [N, K] matrix (the lm
    // head x W^T: each output a dot product with a row of W) and B contiguous (an axpy per k row).
    const gemvCases: [number, number, number, number][] = [
      [1, 1, 768, 50257],
      [1, 3, 768, 50257],
      [1, 1, 33, 17],
      [1, 3, 17, 33],
      [1, 4, 9, 5],
      [5, 1, 33, 17],
      [3, 2, 70, 513],
    ];
    for (const [batch, m, k, n] of gemvCases) {
      it(`GEMV [${batch},${m},${k}] x [${batch},${k},${n}]: B transposed, B contiguous, A strided, strided output`, () => {
        const layouts = [
          { a: view([batch, m, k]), b: view([batch, k, n], { strides: [n * k, 1, k] }) },
          { a: view([batch, m, k], { offset: 3 }), b: view([batch, k, n], { offset: 1 }) },
          {
            a: view([batch, m, k], { strides: [m * k, 1, m] }),
            b: view([batch, k, n], { strides: [0, 1, k] }),
          },
        ];
        // The lm-head sizes: two layouts and a contiguous output keep the TypeScript reference quick.
        const large = n > 10000;
        for (const { a, b } of large ? layouts.slice(0, 2) : layouts) {
          for (const outStrides of large ? [undefined] : [undefined, [m * n, 1, m]]) {
            const outN = view([batch, m, n], { strides: outStrides });
            const outT = zerosLike(outN);
            native.matmul(a, b, outN);
            ts.matmul(a, b, outT);
            expectClose(outN, outT);
          }
        }
      });
    }
    it('writes into a strided output view without touching the gaps', () => {
      const a = view([2, 9, 11]);
      const b = view([2, 11, 21]);
      // out is the transpose of a [2, 21, 9] buffer
      const out = view([2, 9, 21], { strides: [9 * 21, 1, 9] });
      const before = Float32Array.from((out.buffer as CpuBuffer).data as Float32Array);
      const ref = zerosLike(out);
      native.matmul(a, b, out);
      ts.matmul(a, b, ref);
      expectClose(out, ref);
      const after = (out.buffer as CpuBuffer).data;
      for (let i = 2 * 9 * 21; i < after.length; i++) expect(after[i]).toBe(before[i]);
    });
  });

  describe('elementwise', () => {
    const unaryOps = [
      'neg',
      'abs',
      'exp',
      'log',
      'sqrt',
      'tanh',
      'sigmoid',
      'relu',
      'gelu',
      'geluTanh',
      'silu',
      'round',
      'reciprocal',
    ] as const;
    for (const op of unaryOps) {
      it(`${op}: contiguous and transposed`, () => {
        for (const x of [view([37, 41]), view([37, 41], { strides: [1, 37], offset: 3 })]) {
          if (op === 'log' || op === 'sqrt') {
            const d = (x.buffer as CpuBuffer).data;
            for (let i = 0; i < d.length; i++) d[i] = Math.abs(d[i]) + 0.01;
          }
          const outN = view([37, 41]);
          const outT = zerosLike(outN);
          native.unary(op, x, outN);
          ts.unary(op, x, outT);
          expectClose(outN, outT, 2e-6, 1e-7);
        }
      });
    }
    it('NaN, +-inf, huge values and signed zeros follow the TypeScript kernels', () => {
      const x = view([4096]);
      const d = (x.buffer as CpuBuffer).data;
      d[0] = Number.NaN;
      d[1] = -0;
      d[2] = Number.POSITIVE_INFINITY;
      d[3] = Number.NEGATIVE_INFINITY;
      d.set([3e38, -3e38, 88.7, -1e-30], 4);
      // The exactly rounded ops match bit for bit everywhere; the float32 transcendental ones
      // (vmath.h) match bit for bit on the special values and within 2 ulp-ish elsewhere.
      const exact = ['relu', 'abs', 'round'];
      for (const op of ['relu', 'abs', 'round', 'sigmoid', 'exp', 'tanh', 'silu', 'geluTanh'] as const) {
        const outN = view([4096]);
        const outT = zerosLike(outN);
        native.unary(op, x, outN);
        ts.unary(op, x, outT);
        const got = values(outN);
        const want = values(outT);
        for (let i = 0; i < 8; i++)
          expect(
            Object.is(got[i], want[i]) || Math.abs(got[i] - want[i]) <= 1e-6 * Math.abs(want[i]),
            `${op}(${d[i]}): ${got[i]} vs ${want[i]}`,
          ).toBe(true);
        if (exact.includes(op)) expectClose(outN, outT, 0, 0);
        else expectClose(outN, outT, 2e-6, 1e-7);
      }
    });
    const binaryOps = [
      'add',
      'sub',
      'mul',
      'div',
      'maximum',
      'minimum',
      'pow',
      'geluBackward',
      'geluTanhBackward',
      'reluBackward',
    ] as const;
    for (const op of binaryOps) {
      it(`${op}: same shape, row and column broadcast, scalar, strided`, () => {
        const shape = [23, 45];
        const pairs: [KernelTensor, KernelTensor][] = [
          [view(shape), view(shape)],
          [view(shape), view(shape, { strides: [0, 1] })],
          [view(shape, { strides: [1, 0] }), view(shape)],
          [view(shape), view(shape, { strides: [0, 0], offset: 4 })],
          [view(shape, { strides: [1, 23] }), view(shape, { strides: [90, 2] })],
        ];
        for (const [a, b] of pairs) {
          if (op === 'pow') {
            const d = (a.buffer as CpuBuffer).data;
            for (let i = 0; i < d.length; i++) d[i] = Math.abs(d[i]) + 0.1;
          }
          const outN = view(shape);
          const outT = zerosLike(outN);
          native.binary(op, a, b, outN);
          ts.binary(op, a, b, outT);
          expectClose(outN, outT, 1e-6, 1e-7);
        }
      });
    }
    it('GELU backward: NaN propagates, +-inf and huge inputs saturate to g or 0, -0 gives g/2', () => {
      const x = view([4096]);
      const g = view([4096]);
      const d = (x.buffer as CpuBuffer).data;
      d.set([
        Number.NaN,
        -0,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        3e38,
        -3e38,
        1e20,
        -1e20,
        40,
        -40,
      ]);
      for (const op of ['geluBackward', 'geluTanhBackward'] as const) {
        const outN = view([4096]);
        const outT = zerosLike(outN);
        native.binary(op, g, x, outN);
        ts.binary(op, g, x, outT);
        const gs = values(g);
        const got = values(outN);
        expect(got[0]).toBeNaN();
        expect(got[1]).toBeCloseTo(gs[1] / 2, 6);
        for (const i of [2, 4, 6, 8]) expect(got[i], `element ${i}`).toBe(gs[i]);
        for (const i of [3, 5, 7, 9]) expect(Math.abs(got[i]), `element ${i}`).toBe(0);
        expectClose(outN, outT, 2e-6, 1e-7);
      }
    });
    it('ReLU backward: y > 0 keeps g (its sign, NaN included), y <= 0 or NaN gives +0', () => {
      const n = 4096;
      const g = view([n]);
      const y = view([n]);
      (g.buffer as CpuBuffer).data.set([Number.NaN, -0, 5, -3, 7, 2, Number.NaN]);
      (y.buffer as CpuBuffer).data.set([1, 2, 0, -0, Number.NaN, -1, -1]);
      const outN = view([n]);
      const outT = zerosLike(outN);
      native.binary('reluBackward', g, y, outN);
      ts.binary('reluBackward', g, y, outT);
      const got = values(outN);
      expect(got[0]).toBeNaN();
      expect(Object.is(got[1], -0)).toBe(true);
      for (const i of [2, 3, 4, 5, 6]) expect(Object.is(got[i], 0), `element ${i}`).toBe(true);
      const gs = values(g);
      const ys = values(y);
      for (let i = 7; i < n; i++) expect(got[i]).toBe(ys[i] > 0 ? gs[i] : 0);
      expectClose(outN, outT, 0, 0);
    });
    it('comparisons into bool, and where, with broadcasting and NaN', () => {
      const shape = [19, 33];
      const a = view(shape);
      const b = view(shape, { strides: [0, 1] });
      (a.buffer as CpuBuffer).data[5] = Number.NaN;
      (b.buffer as CpuBuffer).data[3] = (a.buffer as CpuBuffer).data[3];
      const bool = (t: KernelTensor): KernelTensor => ({
        ...t,
        dtype: 'bool',
        buffer: new CpuBuffer(new Uint8Array(19 * 33)),
      });
      for (const op of ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
        const outN = bool(view(shape));
        const outT = bool(view(shape));
        native.binary(op, a, b, outN);
        ts.binary(op, a, b, outT);
        expect(Array.from((outN.buffer as CpuBuffer).data)).toEqual(
          Array.from((outT.buffer as CpuBuffer).data),
        );
        for (const other of [b, view(shape, { strides: [0, 0] })]) {
          const wN = view(shape);
          const wT = zerosLike(wN);
          native.where(outN, a, other, wN);
          ts.where(outT, a, other, wT);
          expectClose(wN, wT, 0, 0);
        }
      }
    });
    it('pow follows Math.pow where C differs: pow(1, NaN) and pow(-1, Infinity) are NaN', () => {
      const a = view([2]);
      const b = view([2]);
      (a.buffer as CpuBuffer).data.set([1, -1]);
      (b.buffer as CpuBuffer).data.set([Number.NaN, Number.POSITIVE_INFINITY]);
      const outN = view([2]);
      native.binary('pow', a, b, outN);
      expect(values(outN).every(Number.isNaN)).toBe(true);
    });
  });

  describe('copy', () => {
    it('transposes (tiled), permutes, broadcasts and copies contiguous runs', () => {
      const cases: [KernelTensor, KernelTensor][] = [
        [view([70, 45], { strides: [1, 70] }), view([70, 45])],
        [view([3, 40, 50], { strides: [1, 150, 3], offset: 2 }), view([3, 40, 50])],
        [view([33, 65], { strides: [0, 1] }), view([33, 65])],
        [view([5000]), view([5000], { offset: 9 })],
      ];
      for (const [src, dst] of cases) {
        const ref = zerosLike(dst);
        native.copy(src, dst);
        ts.copy(src, ref);
        expectClose(dst, ref, 0, 0);
      }
    });
  });

  describe('reductions', () => {
    const shape = [13, 17, 19];
    const dimSets = [[0], [1], [2], [1, 2], [0, 1], [0, 1, 2], [0, 2]];
    for (const op of ['sum', 'prod', 'max', 'min'] as const) {
      it(`${op} over every dim set, contiguous and permuted input`, () => {
        for (const dims of dimSets) {
          for (const x of [view(shape), view(shape, { strides: [1, 13, 13 * 17] })]) {
            if (op === 'prod') {
              const d = (x.buffer as CpuBuffer).data;
              for (let i = 0; i < d.length; i++) d[i] = 1 + d[i] * 0.05;
            }
            const outShape = shape.map((s, d) => (dims.includes(d) ? 1 : s));
            const outN = view(outShape);
            const outT = zerosLike(outN);
            native.reduce(op, x, dims, outN);
            ts.reduce(op, x, dims, outT);
            expectClose(outN, outT, 1e-5, 1e-6);
          }
        }
      });
    }
    it('a long sum split over threads, and max with a NaN', () => {
      const x = view([1 << 20]);
      const out = view([1]);
      const ref = zerosLike(out);
      native.reduce('sum', x, [0], out);
      ts.reduce('sum', x, [0], ref);
      expectClose(out, ref, 1e-6, 1e-6);
      (x.buffer as CpuBuffer).data[777] = Number.NaN;
      native.reduce('max', x, [0], out);
      expect(values(out)[0]).toBeNaN();
    });
  });

  describe('softmax family', () => {
    for (const mode of ['softmax', 'logSoftmax', 'logsumexp'] as const) {
      it(`${mode} along the last dim and a middle dim with contiguous rows`, () => {
        const x = view([5, 7, 300]);
        const d = (x.buffer as CpuBuffer).data;
        for (let i = 0; i < d.length; i++) d[i] *= 40;
        // a row holding -inf and large values
        d[1] = Number.NEGATIVE_INFINITY;
        d[2] = 87;
        const outShape = mode === 'logsumexp' ? [5, 7, 1] : [5, 7, 300];
        const outN = view(outShape);
        const outT = zerosLike(outN);
        native[mode](x, 2, outN);
        ts[mode](x, 2, outT);
        expectClose(outN, outT, 1e-5, 1e-6);
        // a permuted view whose softmax dim is still contiguous: rows interleave in memory
        const xp = view([6, 4, 33], { strides: [33, 6 * 33, 1] });
        const pShape = mode === 'logsumexp' ? [6, 4, 1] : [6, 4, 33];
        const pN = view(pShape);
        const pT = zerosLike(pN);
        native[mode](xp, 2, pN);
        ts[mode](xp, 2, pT);
        expectClose(pN, pT, 1e-5, 1e-6);
      });
    }
    it('an all -inf row gives NaN (softmax) as in PyTorch', () => {
      const x = view([2, 16]);
      (x.buffer as CpuBuffer).data.fill(Number.NEGATIVE_INFINITY, 0, 16);
      const outN = view([2, 16]);
      const outT = zerosLike(outN);
      native.softmax(x, 1, outN);
      ts.softmax(x, 1, outT);
      expectClose(outN, outT);
    });
  });

  describe('layer norm and Adam (sizes above the native thresholds, run here at any size)', () => {
    /** A contiguous [rows, n] operand at `offset` in a fresh random array, its values scaled and shifted. */
    function rowsView(rows: number, n: number, offset = 0, scale = 1, shift = 0): KernelTensor {
      const t = view([rows, n], { offset });
      const d = (t.buffer as CpuBuffer).data;
      for (let i = 0; i < d.length; i++) d[i] = d[i] * scale + shift;
      return t;
    }
    const cases = [
      { rows: 64, n: 256, shift: 0, affine: 'both' },
      { rows: 37, n: 301, shift: 0, affine: 'both' },
      { rows: 300, n: 7, shift: 0, affine: 'weight' },
      { rows: 5, n: 1023, shift: 0, affine: 'none' },
      // rows with a large mean: the statistics must not cancel
      { rows: 33, n: 129, shift: 1000, affine: 'both' },
      { rows: 1, n: 5, shift: -3, affine: 'bias' },
    ] as const;
    for (const { rows, n, shift, affine } of cases) {
      it(`layerNorm forward and backward, [${rows},${n}], mean ${shift}, affine: ${affine}`, () => {
        const x = rowsView(rows, n, 3, 4, shift);
        const w = affine === 'both' || affine === 'weight' ? view([n], { offset: 1 }) : null;
        const b = affine === 'both' || affine === 'bias' ? view([n], { offset: 2 }) : null;
        const [outN, meanN, rstdN] = [
          view([rows, n], { offset: 4 }),
          view([rows], { offset: 1 }),
          view([rows]),
        ];
        const [outT, meanT, rstdT] = [outN, meanN, rstdN].map(zerosLike);
        native.layerNorm(x, w, b, 1e-5, outN, meanN, rstdN);
        ts.layerNorm(x, w, b, 1e-5, outT, meanT, rstdT);
        expectClose(outN, outT, 1e-5, 1e-6);
        expectClose(meanN, meanT, 1e-6, 0);
        expectClose(rstdN, rstdT, 1e-6, 0);
        const g = rowsView(rows, n, 5);
        const outs = [view([rows, n], { offset: 2 }), view([n], { offset: 3 }), view([n])];
        const refs = outs.map(zerosLike);
        native.layerNormBackward(g, x, w, meanT, rstdT, outs[0], outs[1], outs[2]);
        ts.layerNormBackward(g, x, w, meanT, rstdT, refs[0], refs[1], refs[2]);
        for (let i = 0; i < 3; i++) expectClose(outs[i], refs[i], 1e-5, 1e-5);
        // each output on its own (null for the others), as core asks when only some need a gradient
        for (let i = 0; i < 3; i++) {
          const only = zerosLike(outs[i]);
          const args = [null, null, null].map((_, j) => (j === i ? only : null)) as (KernelTensor | null)[];
          native.layerNormBackward(g, x, w, meanT, rstdT, args[0], args[1], args[2]);
          expectClose(only, refs[i], 1e-5, 1e-5);
        }
      });
    }
    it('layerNorm backward over zero rows writes zero weight and bias gradients', () => {
      const empty = view([0, 9]);
      const [gw, gb] = [view([9]), view([9])];
      native.layerNormBackward(empty, empty, view([9]), view([0]), view([0]), null, gw, gb);
      expect([...values(gw), ...values(gb)].every((v) => v === 0)).toBe(true);
    });
    for (const decoupled of [false, true]) {
      for (const weightDecay of [0, 0.05]) {
        it(`${decoupled ? 'AdamW' : 'Adam'} step, weight decay ${weightDecay}: bit for bit the TypeScript kernel`, () => {
          const numel = 100_003;
          const param = view([numel], { offset: 3 });
          const grad = view([numel], { offset: 1 });
          const expAvg = view([numel], { offset: 5 });
          const expAvgSq = view([numel], { offset: 2 });
          for (const t of [expAvgSq]) {
            const d = (t.buffer as CpuBuffer).data;
            for (let i = 0; i < d.length; i++) d[i] = Math.abs(d[i]) * 1e-3;
          }
          const copy = (t: KernelTensor): KernelTensor => ({
            ...t,
            buffer: new CpuBuffer(Float32Array.from((t.buffer as CpuBuffer).data)),
          });
          const mine = [param, expAvg, expAvgSq].map(copy);
          const theirs = [param, expAvg, expAvgSq].map(copy);
          for (let step = 1; step <= 3; step++) {
            const hyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, decoupled, step };
            native.adamStep(mine[0], grad, mine[1], mine[2], hyper);
            ts.adamStep(theirs[0], grad, theirs[1], theirs[2], hyper);
          }
          for (let i = 0; i < 3; i++) {
            const [got, want] = [values(mine[i]), values(theirs[i])];
            // the first difference, not a diff of 100k numbers
            const at = got.findIndex((v, j) => !Object.is(v, want[j]));
            expect(
              at === -1 ? null : `element ${at}: ${got[at]} vs ${want[at]}`,
              ['param', 'expAvg', 'expAvgSq'][i],
            ).toBeNull();
          }
        });
      }
    }
  });

  describe('cross entropy (sizes above the native threshold, run here at any size)', () => {
    function targets(
      rows: number,
      classes: number,
      ignored: (r: number) => boolean,
      offset = 0,
    ): KernelTensor {
      const data = new Int32Array(offset + rows + 2);
      for (let r = 0; r < rows; r++)
        data[offset + r] = ignored(r) ? -100 : Math.floor((rand() + 0.5) * classes);
      return { buffer: new CpuBuffer(data), dtype: 'int32', shape: [rows], strides: [1], offset };
    }
    const cases = [
      { rows: 2048, classes: 2048, smoothing: 0.1, special: false },
      { rows: 37, classes: 301, smoothing: 0, special: false },
      { rows: 9, classes: 7, smoothing: 0.3, special: false },
      // row 0 all -inf, row 1 holding a NaN, row 2 around 1000, row 3 holding +inf
      { rows: 6, classes: 33, smoothing: 0.1, special: true },
    ];
    for (const { rows, classes, smoothing, special } of cases) {
      it(`forward and backward, [${rows},${classes}], every 5th row ignored, label smoothing ${smoothing}${special ? ', -inf/NaN/+inf/large rows' : ''}`, () => {
        const x = view([rows, classes], { offset: 3 });
        const d = (x.buffer as CpuBuffer).data;
        for (let i = 0; i < d.length; i++) d[i] *= 8;
        if (special) {
          d.fill(Number.NEGATIVE_INFINITY, 3, 3 + classes);
          d[3 + classes + 5] = Number.NaN;
          for (let c = 0; c < classes; c++) d[3 + 2 * classes + c] += 1000;
          d[3 + 3 * classes + 20] = Number.POSITIVE_INFINITY;
        }
        const t = targets(rows, classes, (r) => r % 5 === 4, 1);
        const [lossN, lseN] = [view([rows], { offset: 2 }), view([rows])];
        const [lossT, lseT] = [lossN, lseN].map(zerosLike);
        native.crossEntropy(x, t, -100, smoothing, lossN, lseN);
        ts.crossEntropy(x, t, -100, smoothing, lossT, lseT);
        expectClose(lseN, lseT, 1e-6, 1e-6);
        expectClose(lossN, lossT, 1e-5, 1e-5);
        const g = view([rows], { offset: 1 });
        const gradN = view([rows, classes], { offset: 2 });
        const gradT = zerosLike(gradN);
        native.crossEntropyBackward(g, x, t, lseT, -100, smoothing, gradN);
        ts.crossEntropyBackward(g, x, t, lseT, -100, smoothing, gradT);
        expectClose(gradN, gradT, 1e-4, 1e-6);
      });
    }
    it("a target out of range throws core's message (the addon alone refuses it too)", () => {
      const x = view([4, 300]);
      const t = targets(4, 300, () => false);
      (t.buffer as CpuBuffer).data[2] = 300;
      const [lossN, lseN] = [view([4]), view([4])];
      expect(() => native.crossEntropy(x, t, -100, 0, lossN, lseN)).toThrow(
        'crossEntropyRows: target 300 is out of bounds for 300 classes',
      );
      const meta = Float64Array.from([4, 300, -100, 0, 0, 0, 0, 0]);
      const [xa, ta, la] = [x, t, lossN].map((v) => (v.buffer as CpuBuffer).data);
      expect(() =>
        addon!.crossEntropyF32(
          xa as Float32Array,
          ta as Int32Array,
          la as Float32Array,
          la as Float32Array,
          meta,
        ),
      ).toThrow(/target 300 is out of bounds for 300 classes/);
      meta[5] = 3;
      expect(() =>
        addon!.crossEntropyF32(
          xa as Float32Array,
          ta as Int32Array,
          la as Float32Array,
          la as Float32Array,
          meta,
        ),
      ).toThrow(/crossEntropy target/);
    });
  });

  describe('conv2d', () => {
    const configs: { x: number[]; w: number[]; p: Conv2dParams }[] = [
      {
        x: [2, 3, 9, 8],
        w: [4, 3, 3, 3],
        p: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
      },
      {
        x: [3, 4, 11, 10],
        w: [6, 2, 3, 2],
        p: { stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 2 },
      },
      {
        x: [1, 2, 7, 7],
        w: [3, 2, 5, 5],
        p: { stride: [3, 2], padding: [2, 2], dilation: [1, 1], groups: 1 },
      },
      {
        x: [5, 1, 6, 9],
        w: [2, 1, 1, 1],
        p: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 },
      },
    ];
    const outSize = (h: number, k: number, s: number, pad: number, dil: number) =>
      Math.floor((h + 2 * pad - dil * (k - 1) - 1) / s) + 1;
    for (const { x: xs, w: ws, p } of configs) {
      it(`x ${JSON.stringify(xs)} w ${JSON.stringify(ws)} stride ${p.stride} pad ${p.padding} dil ${p.dilation} groups ${p.groups}: forward and both gradients`, () => {
        const oShape = [
          xs[0],
          ws[0],
          outSize(xs[2], ws[2], p.stride[0], p.padding[0], p.dilation[0]),
          outSize(xs[3], ws[3], p.stride[1], p.padding[1], p.dilation[1]),
        ];
        // x as a channels-last view, the weight with an offset
        const x = view(xs, { strides: [xs[1] * xs[2] * xs[3], 1, xs[3] * xs[1], xs[1]] });
        const w = view(ws, { offset: 7 });
        const outN = view(oShape);
        const outT = zerosLike(outN);
        native.conv2d(x, w, outN, p);
        ts.conv2d(x, w, outT, p);
        expectClose(outN, outT);

        const gOut = view(oShape, { offset: 1 });
        const giN = view(xs);
        const giT = zerosLike(giN);
        native.conv2dBackwardInput(gOut, w, giN, p);
        ts.conv2dBackwardInput(gOut, w, giT, p);
        expectClose(giN, giT);

        const gwN = view(ws);
        const gwT = zerosLike(gwN);
        native.conv2dBackwardWeight(x, gOut, gwN, p);
        ts.conv2dBackwardWeight(x, gOut, gwT, p);
        expectClose(gwN, gwT);
      });
    }
  });

  describe('the addon refuses views outside their arrays (no out-of-bounds access)', () => {
    const a = new Float32Array(12);
    const b = new Float32Array(12);
    const out = new Float32Array(9);
    it('matmul: a view past the end, a negative offset, a non-integer size', () => {
      expect(() => addon!.matmulF32(a, 0, 0, 4, 1, b, 0, 0, 3, 1, out, 0, 0, 3, 1, 1, 3, 4, 3)).not.toThrow();
      expect(() => addon!.matmulF32(a, 1, 0, 4, 1, b, 0, 0, 3, 1, out, 0, 0, 3, 1, 1, 3, 4, 3)).toThrow(
        RangeError,
      );
      expect(() => addon!.matmulF32(a, 0, 0, 4, 1, b, -1, 0, 3, 1, out, 0, 0, 3, 1, 1, 3, 4, 3)).toThrow(
        /outside/,
      );
      expect(() => addon!.matmulF32(a, 0, 0, 4, 1, b, 0, 0, 3, 1, out, 0, 9, 3, 1, 2, 3, 4, 3)).toThrow(
        /outside/,
      );
      expect(() => addon!.matmulF32(a, 0, 0, 4, 1, b, 0, 0, 3, 1, out, 0, 0, 3, 1, 1, 3.5, 4, 3)).toThrow(
        /integer/,
      );
    });
    it('elementwise, reduce and softmax: layouts that overrun, and arrays of the wrong type', () => {
      const layout = Float64Array.from([1, 13, 1, 1, 0, 0]);
      expect(() => addon!.unaryF32(0, a, new Float32Array(13), layout)).toThrow(/outside/);
      expect(() =>
        addon!.unaryF32(0, new Float64Array(13) as unknown as Float32Array, new Float32Array(13), layout),
      ).toThrow(/Float32Array/);
      expect(() => addon!.unaryF32(99, a, a, Float64Array.from([1, 12, 1, 1, 0, 0]))).toThrow(/op code/);
      expect(() => addon!.reduceF32(0, a, out, Float64Array.from([0, 0, 0]), 13, 1)).toThrow(/outside/);
      expect(() => addon!.softmaxF32(0, a, out, Float64Array.from([0, 0, 0]), 12)).toThrow(/outside/);
      expect(() => addon!.binaryF32(0, a, b, out, Float64Array.from([9, 1]))).toThrow(/rank/);
    });
    it('layer norm and Adam: row counts, lengths and offsets past the end, and absent operands', () => {
      const x = new Float32Array(12);
      const meta = (...v: number[]) => Float64Array.from(v);
      // x [3,4], no weight or bias: fits; then one row too many, then out of mean's bounds
      expect(() =>
        addon!.layerNormF32(x, null, null, x, a, a, meta(3, 4, 1e-5, 0, 0, 0, 0, 0, 0)),
      ).not.toThrow();
      expect(() => addon!.layerNormF32(x, null, null, x, a, a, meta(4, 4, 1e-5, 0, 0, 0, 0, 0, 0))).toThrow(
        /outside/,
      );
      expect(() => addon!.layerNormF32(x, null, null, x, a, a, meta(3, 4, 1e-5, 0, 0, 0, 0, 10, 0))).toThrow(
        /outside/,
      );
      expect(() => addon!.layerNormF32(x, b, null, x, a, a, meta(3, 4, 1e-5, 0, 9, 0, 0, 0, 0))).toThrow(
        /weight/,
      );
      expect(() => addon!.layerNormF32(x, null, null, x, a, a, meta(3, 4))).toThrow(/too short/);
      const back = (gw: Float32Array | null, ...m: number[]) =>
        addon!.layerNormBackwardF32(x, x, null, a, a, null, gw, null, meta(...m));
      expect(() => back(a, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0)).not.toThrow();
      expect(() => back(a, 3, 4, 0, 0, 0, 0, 0, 0, 9, 0)).toThrow(/gradWeight/);
      expect(() => back(new Float32Array(0), 3, 4, 0, 0, 0, 0, 0, 0, 0, 0)).toThrow(/outside/);
      const adam = (n: number, off: number) =>
        addon!.adamStepF32(a, b, a, x, meta(n, 0, 0, 0, off, 1, 0, 0.9, 0.999, -1e-3, 1, 1e-8));
      expect(() => adam(12, 0)).not.toThrow();
      expect(() => adam(12, 1)).toThrow(/expAvgSq/);
      expect(() => adam(13, 0)).toThrow(/outside/);
    });
    it('conv2d: shapes that disagree with the parameters', () => {
      const meta = new Float64Array(34);
      // x [1,1,3,3], w [1,1,2,2], out [1,1,3,3] (should be 2x2)
      meta.set([0, 1, 1, 3, 3, 9, 9, 3, 1], 0);
      meta.set([0, 1, 1, 2, 2, 4, 4, 2, 1], 9);
      meta.set([0, 1, 1, 3, 3, 9, 9, 3, 1], 18);
      meta.set([1, 1, 0, 0, 1, 1, 1], 27);
      expect(() =>
        addon!.conv2dF32(new Float32Array(9), new Float32Array(4), new Float32Array(9), meta),
      ).toThrow(/do not agree/);
    });
  });
});

describe.skipIf(addon === null)('the addon under concurrent callers', () => {
  it('worker threads calling matmul at once get the same results as one thread', async () => {
    const { Worker } = await import('node:worker_threads');
    const path = status.detail.split(' (')[0];
    // Each worker multiplies the same seeded matrices; the pool serves one region at a time and
    // runs the others' work serially on their own threads.
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData.path);
      const n = 97, k = 131, m = 113;
      let s = 7;
      const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 - 0.5; };
      const a = Float32Array.from({ length: m * k }, rnd), b = Float32Array.from({ length: k * n }, rnd);
      const out = new Float32Array(m * n);
      for (let r = 0; r < 20; r++) addon.matmulF32(a, 0, 0, k, 1, b, 0, 0, n, 1, out, 0, 0, n, 1, 1, m, k, n);
      parentPort.postMessage(Array.from(out));
    `;
    const run = () =>
      new Promise<number[]>((resolve, reject) => {
        const w = new Worker(source, { eval: true, workerData: { path } });
        w.once('message', resolve);
        w.once('error', reject);
      });
    const results = await Promise.all([run(), run(), run()]);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });
});

describe('loading', () => {
  it('KILN_CPU_NATIVE=0 (mode false) never loads the addon', () => {
    expect(loadNative(false).addon).toBeNull();
  });
  it.skipIf(addon !== null)('without a built addon, auto mode falls back and says why', () => {
    expect(status.detail).toMatch(/addon|Node/);
  });
});
