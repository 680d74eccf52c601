// Convolution and pooling on 'cpu' against PyTorch, forward and backward.
//
// Fixtures: scripts/fixtures/conv.py (torch 1.13, float64, seeded) writes
// packages/core/test-fixtures/pytorch/conv/conv.json. Each case is run
//   - in float64 (tolerance rtol 1e-10, atol 1e-12) and in float32 (inputs cast; rtol 1e-4, atol 1e-5),
//   - for its output, maxPool2d's indices (exactly), and the gradients of every input for the
//     fixture's upstream gradient,
//   - once more in float64 with non-contiguous inputs (channels-last views and transposed weights).
// Then: finite-difference gradient checks (first and second order) and the error messages.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import './index.js';
import type { DType, Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { compareValues, FLOAT32_TOL, FLOAT64_TOL } from '@kiln/core/testing';

interface Encoded {
  shape: number[];
  data: number[];
}

interface Case {
  name: string;
  opts: Record<string, unknown>;
  inputs: Record<string, Encoded>;
  out: Encoded;
  gradOut: Encoded;
  grads: Record<string, Encoded>;
  indices?: Encoded;
  outputSize?: number | (number | null)[];
}

type Group = 'conv2d' | 'conv1d' | 'convTranspose2d' | 'maxPool2d' | 'avgPool2d' | 'adaptiveAvgPool2d';

const fixtures = JSON.parse(
  readFileSync(new URL('../../core/test-fixtures/pytorch/conv/conv.json', import.meta.url), 'utf8'),
) as Record<Group, Case[]> & { torchVersion: string };

/** Runs a fixture case's op on Kiln tensors named like the fixture's inputs. */
function apply(group: Group, c: Case, t: Record<string, Tensor>): { out: Tensor; indices?: Tensor } {
  const o = c.opts as never;
  switch (group) {
    case 'conv2d':
      return { out: k.conv2d(t.x, t.weight, t.bias ?? null, o) };
    case 'conv1d':
      return { out: k.conv1d(t.x, t.weight, t.bias ?? null, o) };
    case 'convTranspose2d':
      return { out: k.convTranspose2d(t.x, t.weight, t.bias ?? null, o) };
    case 'maxPool2d': {
      const r = k.maxPool2d(t.x, { ...(c.opts as { kernelSize: number }), returnIndices: true });
      return { out: r.values, indices: r.indices };
    }
    case 'avgPool2d':
      return { out: k.avgPool2d(t.x, o) };
    case 'adaptiveAvgPool2d':
      return { out: k.adaptiveAvgPool2d(t.x, c.outputSize as number) };
  }
}

/** The fixture values as a contiguous leaf tensor of `dtype`. */
function leaf(e: Encoded, dtype: DType): Tensor {
  return k.tensor(Float64Array.from(e.data), { dtype }).reshape(e.shape).detach().requiresGrad_(true);
}

/**
 * The same values as a non-contiguous view: 4-D tensors are stored channels-last (NHWC), 2-D and
 * 3-D ones with their last two dims swapped, every value followed by a NaN gap, then viewed back in
 * the logical order. A kernel that ignores strides or offsets reads a NaN.
 */
function stridedView(e: Encoded): Tensor {
  const n = e.shape.length;
  const order = [...Array(n).keys()];
  if (n === 4) order.splice(1, 3, 2, 3, 1);
  else if (n >= 2) order.splice(n - 2, 2, n - 1, n - 2);
  const inverse = order.map((_, i) => order.indexOf(i));
  const reordered = k
    .tensor(Float64Array.from(e.data), { dtype: 'float64' })
    .reshape(e.shape)
    .permute(order)
    .contiguous();
  const flat = reordered.dataSync() as Float64Array;
  const gapped = new Float64Array(flat.length * 2).fill(Number.NaN);
  flat.forEach((v, i) => {
    gapped[2 * i] = v;
  });
  const storedShape = order.map((d) => e.shape[d]);
  storedShape[n - 1] *= 2;
  const stored = k.tensor(gapped, { dtype: 'float64' }).reshape(storedShape).detach().requiresGrad_(true);
  return stored.slice(n - 1, 0, undefined, 2).permute(inverse);
}

const worst: Record<string, number> = {};

/** Compares and records the largest error relative to the largest expected magnitude. */
function check(what: string, dtype: DType, got: Tensor | null, expected: Encoded): void {
  expect(got, `${what}: missing`).not.toBeNull();
  expect([...got!.shape], `${what}: shape`).toEqual(expected.shape);
  const values = Float64Array.from(got!.dataSync() as Float32Array | Float64Array);
  const msg = compareValues(values, expected.data, dtype === 'float64' ? FLOAT64_TOL : FLOAT32_TOL);
  expect(msg, what).toBeNull();
  let err = 0;
  let scale = 0;
  expected.data.forEach((e, i) => {
    err = Math.max(err, Math.abs(values[i] - e));
    scale = Math.max(scale, Math.abs(e));
  });
  const key = `${dtype}`;
  worst[key] = Math.max(worst[key] ?? 0, scale > 0 ? err / scale : err);
}

function runCase(group: Group, c: Case, dtype: DType, layout: 'contiguous' | 'strided'): void {
  const names = Object.keys(c.inputs);
  const leaves = Object.fromEntries(
    names.map((n) => [n, layout === 'strided' ? stridedView(c.inputs[n]) : leaf(c.inputs[n], dtype)]),
  );
  if (layout === 'strided') expect(leaves.x.isContiguous()).toBe(false);
  const { out, indices } = apply(group, c, leaves);
  check(`${c.name}: output`, dtype, out, c.out);
  if (c.indices) {
    expect(indices!.dtype).toBe('int32');
    expect(Array.from(indices!.dataSync() as Int32Array), `${c.name}: indices`).toEqual(c.indices.data);
  }
  const gradOut = k.tensor(Float64Array.from(c.gradOut.data), { dtype }).reshape(c.gradOut.shape);
  const grads = k.grad(
    out,
    names.map((n) => leaves[n]),
    { gradOutputs: [gradOut] },
  );
  names.forEach((n, i) => {
    check(`${c.name}: grad ${n}`, dtype, grads[i], c.grads[n]);
  });
}

const groups: Group[] = [
  'conv2d',
  'conv1d',
  'convTranspose2d',
  'maxPool2d',
  'avgPool2d',
  'adaptiveAvgPool2d',
];

describe(`conv and pooling match PyTorch ${fixtures.torchVersion}`, () => {
  for (const group of groups) {
    describe(group, () => {
      for (const c of fixtures[group]) {
        it(`${c.name} (float64)`, () => runCase(group, c, 'float64', 'contiguous'));
        it(`${c.name} (float32)`, () => runCase(group, c, 'float32', 'contiguous'));
        it(`${c.name} (float64, non-contiguous inputs)`, () => runCase(group, c, 'float64', 'strided'));
      }
    });
  }
  afterAll(() => {
    console.log(`conv/pool vs PyTorch, max |error| / max |expected|: ${JSON.stringify(worst)}`);
  });
});

// ------------------------------------------------------------------------ finite differences

/** Deterministic float64 values in [-1, 1) (a small LCG; no dependence on Kiln's RNG). */
function values(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    v[i] = s / 1073741824 - 1;
  }
  return k.tensor(v, { dtype: 'float64' }).reshape(shape).detach();
}

/**
 * Checks the autograd gradient of L = sum(f(inputs) * r) against central differences, for every
 * input; r is a fixed non-uniform weighting so that errors cannot cancel.
 */
function gradcheck(f: (ts: Tensor[]) => Tensor, inputs: Tensor[], eps = 1e-6): void {
  const leaves = inputs.map((t) => t.detach().requiresGrad_(true));
  const out = f(leaves);
  const r = values([...out.shape], 99);
  const grads = k.grad(out.mul(r).sum(), leaves);
  const loss = (ts: Tensor[]) => f(ts).mul(r).sum().itemSync();
  leaves.forEach((t, i) => {
    const base = Float64Array.from(t.dataSync() as Float64Array);
    const numeric = new Float64Array(base.length);
    for (let e = 0; e < base.length; e++) {
      const at = (delta: number) => {
        const v = Float64Array.from(base);
        v[e] += delta;
        const shifted = k.tensor(v, { dtype: 'float64' }).reshape([...t.shape]);
        return loss(leaves.map((l, j) => (j === i ? shifted : l.detach())));
      };
      numeric[e] = (at(eps) - at(-eps)) / (2 * eps);
    }
    const analytic = Float64Array.from(grads[i]!.dataSync() as Float64Array);
    expect(compareValues(analytic, numeric, { rtol: 1e-6, atol: 1e-8 }), `input ${i}`).toBeNull();
  });
}

describe('gradients match finite differences (float64)', () => {
  it('conv2d with groups, stride, dilation and bias', () => {
    gradcheck(
      ([x, w, b]) => k.conv2d(x, w, b, { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 }),
      [values([2, 4, 5, 6], 1), values([4, 2, 3, 2], 2), values([4], 3)],
    );
  });
  it("conv2d with 'same' padding and an even kernel", () => {
    gradcheck(
      ([x, w]) => k.conv2d(x, w, null, { padding: 'same' }),
      [values([1, 2, 5, 4], 4), values([3, 2, 2, 4], 5)],
    );
  });
  it('conv1d', () => {
    gradcheck(
      ([x, w, b]) => k.conv1d(x, w, b, { stride: 2, padding: 1, dilation: 2 }),
      [values([2, 3, 9], 6), values([2, 3, 3], 7), values([2], 8)],
    );
  });
  it('convTranspose2d with stride, outputPadding and groups', () => {
    gradcheck(
      ([x, w, b]) => k.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }),
      [values([1, 4, 3, 3], 9), values([4, 1, 3, 3], 10), values([2], 11)],
    );
  });
  it('maxPool2d with padding, dilation and ceilMode', () => {
    gradcheck(
      ([x]) => k.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1, dilation: [1, 2], ceilMode: true }),
      [values([2, 2, 7, 8], 12)],
    );
  });
  it('avgPool2d with ceilMode, countIncludePad false, and with divisorOverride', () => {
    const x = values([1, 2, 6, 7], 13);
    gradcheck(
      ([t]) =>
        k.avgPool2d(t, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
      [x],
    );
    gradcheck(
      ([t]) => k.avgPool2d(t, { kernelSize: [2, 3], stride: 2, ceilMode: true, divisorOverride: 4 }),
      [x],
    );
  });
  it('adaptiveAvgPool2d with non-divisible sizes', () => {
    gradcheck(([x]) => k.adaptiveAvgPool2d(x, [3, 4]), [values([2, 2, 7, 5], 14)]);
  });
  it('upstream gradients may be broadcast views (stride 0)', () => {
    const x = values([1, 2, 4, 4], 15).requiresGrad_(true);
    const w = values([3, 2, 3, 3], 16).requiresGrad_(true);
    k.conv2d(x, w, null, { padding: 1 }).sum().backward();
    const ones = k.ones([1, 3, 4, 4], { dtype: 'float64' });
    const [gx, gw] = k.grad(k.conv2d(x, w, null, { padding: 1 }), [x, w], { gradOutputs: [ones] });
    expect(
      compareValues(x.grad!.dataSync() as Float64Array, gx!.dataSync() as Float64Array, FLOAT64_TOL),
    ).toBeNull();
    expect(
      compareValues(w.grad!.dataSync() as Float64Array, gw!.dataSync() as Float64Array, FLOAT64_TOL),
    ).toBeNull();
  });
});

describe('second-order gradients match finite differences of first-order ones (float64)', () => {
  // f returns dL/dx (or dL/dw) for L = sum(y * y), built with createGraph; gradcheck then
  // differentiates it again, through the backward ops' own backward rules.
  const asLeaf = (t: Tensor) => (t.requiresGrad ? t : t.detach().requiresGrad_(true));
  it('conv2d: gradient of the input gradient', () => {
    gradcheck(
      ([xx, w]) => {
        const x = asLeaf(xx);
        const y = k.conv2d(x, w, null, { stride: 2, padding: 1 });
        return k.grad(y.mul(y).sum(), [x], { createGraph: true })[0]!;
      },
      [values([1, 2, 5, 5], 17), values([3, 2, 3, 3], 18)],
    );
  });
  it('conv2d: gradient of the weight gradient', () => {
    gradcheck(
      ([x, ww]) => {
        const w = asLeaf(ww);
        const y = k.conv2d(x, w, null, { padding: 'same', groups: 2 });
        return k.grad(y.mul(y).sum(), [w], { createGraph: true })[0]!;
      },
      [values([1, 4, 4, 4], 19), values([2, 2, 2, 3], 20)],
    );
  });
  it('convTranspose2d: gradient of the input gradient', () => {
    gradcheck(
      ([xx, w]) => {
        const x = asLeaf(xx);
        const y = k.convTranspose2d(x, w, null, { stride: 2, outputPadding: 1 });
        return k.grad(y.mul(y).sum(), [x], { createGraph: true })[0]!;
      },
      [values([1, 2, 3, 3], 21), values([2, 2, 2, 2], 22)],
    );
  });
  it('maxPool2d and avgPool2d: gradient of the input gradient', () => {
    const pools = [
      (t: Tensor) => k.maxPool2d(t, { kernelSize: 2, stride: 1 }),
      (t: Tensor) => k.avgPool2d(t, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }),
    ];
    for (const pool of pools) {
      gradcheck(
        ([xx]) => {
          const x = asLeaf(xx);
          const y = pool(x);
          return k.grad(y.mul(y).sum(), [x], { createGraph: true })[0]!;
        },
        [values([1, 2, 5, 5], 23)],
      );
    }
  });
});

describe('memory', () => {
  it('a training step inside tidy leaves the number of live tensors flat', () => {
    const w1 = k.randn([4, 3, 3, 3]).requiresGrad_(true);
    const b1 = k.zeros([4]).requiresGrad_(true);
    const w2 = k.randn([4, 2, 2, 2]).requiresGrad_(true);
    const step = () =>
      k.tidy(() => {
        const x = k.randn([2, 3, 9, 9]);
        const h = k.conv2d(x, w1, b1, { padding: 'same' }).relu();
        const pooled = k.maxPool2d(h, {
          kernelSize: 3,
          stride: 2,
          ceilMode: true,
          returnIndices: true,
        }).values;
        const up = k.convTranspose2d(pooled, w2, null, { stride: 2, outputPadding: 1 });
        const loss = k
          .adaptiveAvgPool2d(k.avgPool2d(up, { kernelSize: 2, divisorOverride: 3 }), [3, 2])
          .sum();
        loss.backward();
      });
    step();
    const before = k.memory().tensors;
    step();
    step();
    expect(k.memory().tensors).toBe(before);
  });
});

// ------------------------------------------------------------------------------------ errors

describe('argument errors name the op, the shapes and the problem', () => {
  const x = k.zeros([1, 4, 5, 5]);
  it('wrong number of input channels', () => {
    expect(() => k.conv2d(x, k.zeros([2, 3, 3, 3]))).toThrow(
      'conv2d: Given groups=1, weight of size [2, 3, 3, 3], expected input[1, 4, 5, 5] to have 3 channels, but got 4 channels instead',
    );
    expect(() => k.convTranspose2d(x, k.zeros([3, 2, 3, 3]))).toThrow(
      /expected input\[1, 4, 5, 5\] to have 3 channels, but got 4/,
    );
  });
  it('wrong rank', () => {
    expect(() => k.conv2d(k.zeros([4, 5]), k.zeros([2, 4, 3, 3]))).toThrow(
      'conv2d: Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [4, 5]',
    );
    expect(() => k.conv2d(x, k.zeros([2, 4, 3]))).toThrow(/conv2d: expected weight to be 4-dimensional/);
    expect(() => k.conv1d(x, k.zeros([2, 4, 3]))).toThrow(
      /Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d/,
    );
    expect(() => k.maxPool2d(k.zeros([5, 5]), { kernelSize: 2 })).toThrow(/maxPool2d: non-empty 3D or 4D/);
  });
  it('groups that do not divide the channels', () => {
    expect(() => k.conv2d(x, k.zeros([3, 2, 3, 3]), null, { groups: 2 })).toThrow(
      'conv2d: Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size [3, 2, 3, 3] instead',
    );
    expect(() => k.conv2d(k.zeros([1, 5, 5, 5]), k.zeros([4, 2, 3, 3]), null, { groups: 2 })).toThrow(
      /to have 4 channels, but got 5 channels instead/,
    );
  });
  it('an output too small to exist', () => {
    expect(() => k.conv2d(k.zeros([1, 4, 2, 2]), k.zeros([2, 4, 3, 3]))).toThrow(
      /conv2d: Calculated output size \(0 x 0\) is too small: padded input size per channel \(2 x 2\)/,
    );
    expect(() => k.maxPool2d(k.zeros([1, 3, 2, 2]), { kernelSize: 3 })).toThrow(
      'maxPool2d: Given input size: (3x2x2). Calculated output size: (3x0x0). Output size is too small',
    );
    expect(() =>
      k.convTranspose2d(k.zeros([1, 4, 1, 1]), k.zeros([4, 2, 1, 1]), null, { padding: 1 }),
    ).toThrow(/convTranspose2d: .*Output size is too small/);
  });
  it('bad parameters', () => {
    expect(() => k.conv2d(x, k.zeros([2, 4, 3, 3]), null, { padding: 'same', stride: 2 })).toThrow(
      "conv2d: padding='same' is not supported for strided convolutions",
    );
    expect(() => k.conv2d(x, k.zeros([2, 4, 3, 3]), k.zeros([3]))).toThrow(
      'expected bias to be 1-dimensional with 2 elements, but got bias of size [3] instead',
    );
    expect(() => k.convTranspose2d(x, k.zeros([4, 2, 3, 3]), null, { stride: 2, outputPadding: 2 })).toThrow(
      /output padding must be smaller than either stride or dilation/,
    );
    expect(() => k.maxPool2d(x, { kernelSize: 2, padding: 2 })).toThrow(
      /pad should be smaller than or equal to half of kernel size/,
    );
    expect(() => k.avgPool2d(x, { kernelSize: 2, divisorOverride: 0 })).toThrow(/divisor must be not zero/);
  });
  it('non-float dtypes and mixed dtypes', () => {
    expect(() =>
      k.conv2d(k.zeros([1, 4, 5, 5], { dtype: 'int32' }), k.zeros([2, 4, 3, 3], { dtype: 'int32' })),
    ).toThrow(/conv2d: expected a floating-point input, but got int32/);
    expect(() => k.conv2d(x, k.zeros([2, 4, 3, 3], { dtype: 'float64' }))).toThrow(
      /same dtype, but got float32 and float64/,
    );
    expect(() => k.avgPool2d(k.zeros([1, 1, 4, 4], { dtype: 'int32' }), { kernelSize: 2 })).toThrow(
      /avgPool2d: expected a floating-point input/,
    );
  });
});
