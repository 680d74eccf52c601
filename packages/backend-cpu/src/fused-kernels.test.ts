// The TypeScript fused layer-norm, cross-entropy and Adam kernels against core's formulas from primitives (what
// core runs on a backend without the fused slots): the op database's conformance run compares the
// float32 path with the float64 path of this same backend, so it cannot see a formula that is wrong
// in both. Here the reference is a second 'cpu' backend whose `fused` lacks these kernels, in
// float64 on the same (float32-rounded, for float32) inputs: the float32 composite itself loses
// digits on rows with a large mean, which the fused kernel (double inside) does not.
import type { DType, Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from './backend.js';

k.registerBackend('cpu_fused', () => createCpuBackend({ native: false }));
k.registerBackend('cpu_composite', () => {
  const b = createCpuBackend({ native: false });
  const { softmax, logSoftmax, logsumexp } = b.fused;
  return { ...b, fused: { softmax, logSoftmax, logsumexp } };
});

let seed = 987654;
function random(n: number, scale = 1, shift = 0): number[] {
  return Array.from({ length: n }, () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return ((seed / 2 ** 32) * 2 - 1) * scale + shift;
  });
}

const on = (device: string, values: number[], shape: number[], dtype: DType): Tensor =>
  k.tensor(values, { dtype, device }).reshape(shape);

/** Values as the tested dtype stores them, so the float64 reference sees the same inputs. */
const storable = (values: number[], dtype: DType): number[] =>
  dtype === 'float32' ? values.map(Math.fround) : values;

function expectClose(actual: Tensor, expected: Tensor, rtol: number, atol: number, what: string): void {
  const a = Array.from(actual.dataSync(), Number);
  const e = Array.from(expected.dataSync(), Number);
  expect(a.length, what).toBe(e.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - e[i]) - rtol * Math.abs(e[i]));
  expect(worst, `${what}: largest excess over ${rtol}·|expected|`).toBeLessThanOrEqual(atol);
}

const TOL: Record<'float32' | 'float64', [number, number]> = {
  float64: [1e-10, 1e-12],
  float32: [1e-4, 1e-5],
};

describe('fused TypeScript kernels vs core formulas from primitives', () => {
  const cases: {
    label: string;
    shape: number[];
    normalized: number[];
    affine: 'both' | 'weight' | 'none';
    mean: number;
  }[] = [
    { label: '[5,37] over [37], weight and bias', shape: [5, 37], normalized: [37], affine: 'both', mean: 0 },
    {
      label: '[3,4,9] over [4,9], weight only',
      shape: [3, 4, 9],
      normalized: [4, 9],
      affine: 'weight',
      mean: 0,
    },
    { label: '[6,33] over [33], no affine', shape: [6, 33], normalized: [33], affine: 'none', mean: 0 },
    {
      label: '[4,65] rows with mean 1000, weight and bias',
      shape: [4, 65],
      normalized: [65],
      affine: 'both',
      mean: 1000,
    },
  ];
  for (const dtype of ['float64', 'float32'] as const) {
    for (const c of cases) {
      it(`layerNorm ${dtype} ${c.label}: output and gradients`, () => {
        const n = c.normalized.reduce((a, b) => a * b, 1);
        const numel = c.shape.reduce((a, b) => a * b, 1);
        const [xv, wv, bv, gv] = [random(numel, 2, c.mean), random(n, 1, 1), random(n), random(numel)].map(
          (v) => storable(v, dtype),
        );
        const run = (device: string, dtype: DType) => {
          const x = on(device, xv, c.shape, dtype).requiresGrad_(true);
          const w = c.affine !== 'none' ? on(device, wv, c.normalized, dtype).requiresGrad_(true) : null;
          const b = c.affine === 'both' ? on(device, bv, c.normalized, dtype).requiresGrad_(true) : null;
          const y = k.layerNorm(x, c.normalized, w, b, 1e-5);
          const leaves = [x, w, b].filter((t): t is Tensor => t !== null);
          return [y, ...k.grad(y.mul(on(device, gv, c.shape, dtype)).sum(), leaves)] as Tensor[];
        };
        const got = run('cpu_fused', dtype);
        const ref = run('cpu_composite', 'float64');
        const [rtol, atol] = TOL[dtype];
        // The backward reads the saved mean in the input's dtype (as PyTorch does): around 1000 a
        // float32 mean is off by up to half an ulp (3e-5), which xhat and the gradients inherit.
        const gradAtol = dtype === 'float32' && c.mean !== 0 ? 1e-4 : atol;
        for (const [i, t] of got.entries())
          expectClose(t, ref[i], rtol, i === 0 ? atol : gradAtol, i === 0 ? 'output' : `gradient ${i - 1}`);
      });
    }
    for (const smoothing of [0, 0.1]) {
      it(`crossEntropyRows ${dtype} [9,37], ignored rows, label smoothing ${smoothing}: loss and gradient`, () => {
        const [rows, classes] = [9, 37];
        // Rows 2 and 7 ignored (-100); one row with logits around 1000.
        const targets = [3, 0, -100, 36, 17, 5, 22, -100, 11];
        const xv = storable(
          random(rows * classes, 4).map((v, i) => (Math.floor(i / classes) === 4 ? v + 1000 : v)),
          dtype,
        );
        const gv = storable(random(rows), dtype);
        const run = (device: string, dtype: DType) => {
          const x = on(device, xv, [rows, classes], dtype).requiresGrad_(true);
          const t = k.tensor(targets, { dtype: 'int32', device });
          const loss = k.crossEntropyRows(x, t, { labelSmoothing: smoothing });
          return [loss, ...k.grad(loss.mul(on(device, gv, [rows], dtype)).sum(), [x])] as Tensor[];
        };
        const got = run('cpu_fused', dtype);
        const ref = run('cpu_composite', 'float64');
        const [rtol, atol] = TOL[dtype];
        // The float32 loss of the row around 1000 is lse - x[t] of two numbers near 1000: half an ulp
        // of each (3e-5) survives the subtraction.
        expectClose(got[0], ref[0], rtol, dtype === 'float32' ? 1e-4 : atol, 'loss');
        expectClose(got[1], ref[1], rtol, atol, 'gradient');
      });
    }
    it(`crossEntropyRows ${dtype}: a target out of range throws core's message`, () => {
      const x = on('cpu_fused', random(12), [3, 4], dtype);
      for (const bad of [4, -1])
        expect(() =>
          k.crossEntropyRows(x, k.tensor([0, bad, 1], { dtype: 'int32', device: 'cpu_fused' })),
        ).toThrow(`crossEntropyRows: target ${bad} is out of bounds for 4 classes`);
    });
    for (const decoupled of [false, true]) {
      it(`adamStep_ ${dtype} ${decoupled ? 'AdamW' : 'Adam'}: three steps of param, expAvg, expAvgSq`, () => {
        const shape = [7, 13];
        const init = [random(91), random(91, 0.1), random(91, 0.001).map(Math.abs)].map((v) =>
          storable(v, dtype),
        );
        const grads = [random(91), random(91, 3), random(91, 1e-4)].map((v) => storable(v, dtype));
        const run = (device: string, dtype: DType) => {
          const [p, m, v] = init.map((d) => on(device, d, shape, dtype));
          for (const [i, g] of grads.entries())
            k.adamStep_(p, on(device, g, shape, dtype), m, v, {
              lr: 1e-2,
              beta1: 0.9,
              beta2: 0.999,
              eps: 1e-8,
              weightDecay: 0.1,
              decoupled,
              step: i + 1,
            });
          return [p, m, v];
        };
        const got = run('cpu_fused', dtype);
        const ref = run('cpu_composite', 'float64');
        const [rtol, atol] = TOL[dtype];
        for (const [i, what] of ['param', 'expAvg', 'expAvgSq'].entries())
          expectClose(got[i], ref[i], rtol, atol, what);
      });
    }
  }
});
