// WebGPU against the CPU backend on fresh random inputs, at sizes the op database does not reach:
// both matmul variants and the fused linear at tile edges and vector-aligned sizes, tree
// reductions, long softmax rows, layer norm and the Adam step, cross entropy over wide rows,
// attention over several key blocks and head-dim chunks, multi-pass sorts, conv2d and pooling
// forward and backward, and the random stream of both backends for the same seed.
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { compareValues, SampleRng, valuesOf } from '@kiln/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyWebGPUBackend, webgpuBackend } from './index.js';
import type { MatmulVariant } from './kernels/matmul.js';

beforeAll(() => k.ready('webgpu'));
afterAll(destroyWebGPUBackend);

const TOL = { rtol: 1e-4, atol: 1e-4 };
const rng = new SampleRng(20240611);

function randomHost(shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, () => rng.normal());
}

type Fn = (xs: k.Tensor[]) => k.Tensor | k.Tensor[];

/** Runs `fn` on both devices from the same host values; compares outputs and input gradients. */
async function expectParity(shapes: number[][], fn: Fn, opts: { grad?: boolean; tol?: typeof TOL } = {}) {
  const hosts = shapes.map(randomHost);
  const tol = opts.tol ?? TOL;
  const run = async (device: string) => {
    const xs = hosts.map((h, i) =>
      k
        .tensor(h, { device })
        .reshape(shapes[i])
        .detach()
        .requiresGrad_(opts.grad ?? false),
    );
    const out = fn(xs);
    const outs = Array.isArray(out) ? out : [out];
    const values = [];
    for (const o of outs) values.push(await valuesOf(o));
    const grads: Float64Array[] = [];
    if (opts.grad) {
      const loss = outs.map((o) => o.mul(o).sum()).reduce((a, b) => a.add(b));
      const gs = k.grad(loss, xs, { allowUnused: true });
      for (const g of gs) grads.push(g ? await valuesOf(g) : new Float64Array());
    }
    return { values, grads };
  };
  const ref = await run('cpu');
  const got = await run('webgpu');
  for (const [i, r] of ref.values.entries())
    expect(compareValues(got.values[i], r, tol), `output ${i}`).toBeNull();
  for (const [i, r] of ref.grads.entries())
    expect(compareValues(got.grads[i], r, tol), `gradient ${i}`).toBeNull();
}

/** Runs `body` with matmul and linear on `variant`, then restores the backend's choice. */
async function onMatmul(variant: MatmulVariant, body: () => Promise<void>): Promise<void> {
  const backend = await webgpuBackend();
  const chosen = backend.matmulVariant;
  backend.matmulVariant = variant;
  try {
    await body();
  } finally {
    backend.matmulVariant = chosen;
  }
}

const MM_TOL = { rtol: 1e-4, atol: 1e-3 };

// Both variants run everywhere: the adapter picks one ('direct' on SwiftShader), the tests force each.
for (const variant of ['tiled', 'direct'] as const) {
  describe(`matmul (${variant})`, () => {
    it('matches at sizes that are not tile multiples, with gradients', () =>
      onMatmul(variant, () =>
        expectParity(
          [
            [67, 129],
            [129, 70],
          ],
          ([a, b]) => a.matmul(b),
          { grad: true, tol: MM_TOL },
        ),
      ));
    it('reads transposed and batch-broadcast operands through strides', () =>
      onMatmul(variant, () =>
        expectParity(
          [
            [3, 40, 33],
            [65, 40],
          ],
          ([a, b]) => a.transpose(1, 2).matmul(b.T.slice(1, 0, 65, 2)),
          { tol: MM_TOL },
        ),
      ));
    // Multiples of 4: every vec4 read of the direct kernel (A along K or M, B along N or K).
    it('batched and transposed operands at vector-aligned sizes', () =>
      onMatmul(variant, () =>
        expectParity(
          [
            [2, 64, 96],
            [96, 128],
            [96, 64],
            [128, 96],
          ],
          ([a, b, at, bt]) => [a.matmul(b), at.T.matmul(bt.T), a.matmul(bt.T)],
          { tol: MM_TOL },
        ),
      ));
  });

  describe(`linear (${variant}: matmul with a bias and activation epilogue)`, () => {
    for (const activation of ['none', 'relu', 'gelu', 'geluTanh'] as const)
      it(`[256, 128] x [512, 128]^T + [512], ${activation}, with gradients`, () =>
        onMatmul(variant, () =>
          expectParity([[256, 128], [512, 128], [512]], ([x, w, b]) => k.linear(x, w, b, activation), {
            grad: true,
            tol: MM_TOL,
          }),
        ));
    it('a transposed [K, N] weight view and a batched input', () =>
      onMatmul(variant, () =>
        expectParity([[3, 50, 128], [128, 256], [256]], ([x, w, b]) => k.linear(x, w.T, b, 'gelu'), {
          grad: true,
          tol: MM_TOL,
        }),
      ));
    it('odd sizes without a bias (scalar reads, K tail)', () =>
      onMatmul(variant, () =>
        expectParity(
          [
            [37, 45],
            [29, 45],
          ],
          ([x, w]) => k.linear(x, w, null, 'geluTanh'),
          {
            grad: true,
            tol: MM_TOL,
          },
        ),
      ));
  });
}

describe('reductions and rows', () => {
  it('sum, max and mean over long slices (workgroup trees)', () =>
    expectParity([[5, 3000]], ([x]) => [x.sum(1), x.amax(1), x.mean(), x.sum(0)], {
      tol: { rtol: 1e-4, atol: 1e-3 },
    }));
  it('softmax, logSoftmax and logsumexp over long rows, with gradients', () =>
    expectParity([[4, 1000]], ([x]) => [x.softmax(-1), x.logSoftmax(-1), x.logsumexp(-1)], { grad: true }));
  it('argmax, cumsum and any over a middle dim', () =>
    expectParity([[6, 300, 4]], ([x]) => [x.argmax(1), x.cumsum(1), x.gt(2).any(1)], {
      tol: { rtol: 1e-4, atol: 1e-3 },
    }));
});

describe('layer norm and the Adam step (fused kernels)', () => {
  it('layerNorm over 1,000-wide rows with weight and bias, and all three gradients', () =>
    expectParity([[37, 1000], [1000], [1000]], ([x, w, b]) => k.layerNorm(x, [1000], w, b), {
      grad: true,
      tol: { rtol: 1e-4, atol: 1e-3 },
    }));
  // Rows of mean 1e4..6e4 and std 1: statistics from the rounded float32 mean would be off by ~1e-3.
  it('layerNorm of rows with a large mean matches the float64 reference (no cancellation)', async () => {
    const shape = [6, 777];
    const host = Float32Array.from(randomHost(shape), (v, i) => 1e4 * (1 + Math.floor(i / 777)) + v);
    const ref = k.tidy(() =>
      k.layerNorm(k.tensor(Float64Array.from(host), { dtype: 'float64' }).reshape(shape), [777]),
    );
    const got = k.tidy(() => k.layerNorm(k.tensor(host, { device: 'webgpu' }).reshape(shape), [777]));
    expect(compareValues(await valuesOf(got), await valuesOf(ref), { rtol: 1e-5, atol: 1e-5 })).toBeNull();
    k.dispose([ref, got]);
  });
  for (const decoupled of [false, true]) {
    it(`adamStep_ (${decoupled ? 'AdamW' : 'Adam'}) over 10,000 elements, three steps`, async () => {
      const hosts = [0, 1, 2, 3].map(() => randomHost([10_000]));
      const run = async (device: string) => {
        const [p, g, m, v0] = hosts.map((h) => k.tensor(h, { device }));
        const v = v0.abs();
        for (let step = 1; step <= 3; step++) {
          k.adamStep_(p, g, m, v, {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weightDecay: 0.1,
            decoupled,
            step,
          });
        }
        const out = [await valuesOf(p), await valuesOf(m), await valuesOf(v)];
        k.dispose([p, g, m, v0, v]);
        return out;
      };
      const ref = await run('cpu');
      const got = await run('webgpu');
      for (const [i, r] of ref.entries()) expect(compareValues(got[i], r, TOL), `tensor ${i}`).toBeNull();
    });
  }
});

describe('cross entropy and attention (fused kernels)', () => {
  // Rows 3, 10, 17, ... are ignored; the other targets cover the whole class range.
  const targets = Array.from({ length: 64 }, (_, i) => (i % 7 === 3 ? -100 : (i * 331) % 2048));
  for (const labelSmoothing of [0, 0.1]) {
    it(`crossEntropyRows over [64, 2048] with ignored rows, smoothing ${labelSmoothing}, with gradients`, () =>
      expectParity(
        [[64, 2048]],
        ([x]) =>
          k.crossEntropyRows(x, k.tensor(targets, { device: x.device, dtype: 'int32' }), { labelSmoothing }),
        { grad: true },
      ));
  }
  it('an out-of-range target raises the CPU error at the next read, reading nothing out of bounds', async () => {
    const host = randomHost([3, 5]);
    const run = async (device: string, target: number[]) => {
      const x = k.tensor(host, { device }).reshape([3, 5]).requiresGrad_();
      const loss = k.crossEntropyRows(x, k.tensor(target, { device, dtype: 'int32' }));
      return valuesOf(loss);
    };
    let cpuError = '';
    // One bad target: with several, the GPU reports whichever row it meets first, not always the CPU's.
    await run('cpu', [1, 5, -100]).catch((e: Error) => {
      cpuError = e.message;
    });
    expect(cpuError).toBe('crossEntropyRows: target 5 is out of bounds for 5 classes');
    await expect(run('webgpu', [1, 5, -100])).rejects.toThrow(cpuError);
    // Reported once: the rows that were in range still computed, and later work is unaffected.
    const got = await run('webgpu', [1, -100, 4]);
    const ref = await run('cpu', [1, -100, 4]);
    expect(compareValues(got, ref, TOL)).toBeNull();
  });

  const ATT_TOL = { rtol: 1e-4, atol: 1e-3 };
  const attend = (mask: (device: string) => k.Tensor | null, causal: boolean) => (xs: k.Tensor[]) => {
    const [q, key, v] = xs;
    return k.scaledDotProductAttention(q, key, v, { mask: mask(q.device), causal });
  };
  // Padding: batch row 0 sees all 64 keys, batch row 1 the first 40.
  const padding = (device: string) =>
    k
      .tensor(
        Array.from({ length: 128 }, (_, i) => (i < 64 ? true : i - 64 < 40)),
        { device, dtype: 'bool' },
      )
      .reshape([2, 1, 1, 64]);
  it('attention [2, 4, 64, 32] causal, with gradients', () =>
    expectParity(
      [
        [2, 4, 64, 32],
        [2, 4, 64, 32],
        [2, 4, 64, 32],
      ],
      attend(() => null, true),
      {
        grad: true,
        tol: ATT_TOL,
      },
    ));
  it('attention [2, 4, 64, 32] with a padding mask, with gradients', () =>
    expectParity(
      [
        [2, 4, 64, 32],
        [2, 4, 64, 32],
        [2, 4, 64, 32],
      ],
      attend(padding, false),
      {
        grad: true,
        tol: ATT_TOL,
      },
    ));
  // An [L, S] mask broadcast over batch and heads (strides 0), and causal: some queries see no key.
  it('attention with a broadcast [L, S] mask and causal together, with gradients', () =>
    expectParity(
      [
        [2, 2, 16, 8],
        [2, 2, 16, 8],
        [2, 2, 16, 8],
      ],
      attend(
        (device) =>
          k
            .tensor(
              Array.from({ length: 256 }, (_, i) => (i * 7919) % 5 < 2),
              { device, dtype: 'bool' },
            )
            .reshape([16, 16]),
        true,
      ),
      { grad: true, tol: ATT_TOL },
    ));
  it('attention with a key/value cache: one causal query over 65 keys', () =>
    expectParity(
      [
        [2, 4, 1, 32],
        [2, 4, 65, 32],
        [2, 4, 65, 32],
      ],
      attend(() => null, true),
      {
        grad: true,
        tol: ATT_TOL,
      },
    ));
  // 70 queries are two query blocks of the workgroup (causal: each with its own key range); E = 80
  // is five staged steps of the key tile, Ev = 300 five passes over the keys.
  it('attention with two query blocks and head dims past one tile (E 80, Ev 300), causal', () =>
    expectParity(
      [
        [1, 2, 70, 80],
        [1, 2, 70, 80],
        [1, 2, 70, 300],
      ],
      attend(() => null, true),
      {
        grad: true,
        tol: ATT_TOL,
      },
    ));
});

describe('sort and topk', () => {
  it('sorts long rows stably in both directions', () =>
    expectParity([[3, 1000]], ([x]) => {
      const r = x.round();
      const a = r.sort(-1);
      const d = r.sort(0, true);
      return [a.values, a.indices, d.values, d.indices];
    }));
  it('topk values, indices and gradients', () =>
    expectParity(
      [[8, 77]],
      ([x]) => {
        const t = x.topk(5, -1);
        return [t.values, t.indices];
      },
      { grad: true },
    ));
});

describe('indexing', () => {
  it('gather, scatterAdd, indexSelect and indexAdd with repeated indices, with gradients', async () => {
    const idx = (device: string) => k.tensor([0, 3, 3, 1, 0, 2], { device, dtype: 'int32' });
    await expectParity(
      [
        [4, 6],
        [6, 6],
      ],
      ([x, s]) => {
        const device = x.device;
        const i2 = idx(device).reshape(1, 6).expand(4, 6).contiguous();
        return [
          x.gather(1, i2.remainder(6)),
          x.scatterAdd(0, i2.slice(0, 0, 4), s.slice(0, 0, 4)),
          x.indexSelect(0, idx(device)),
          x.indexAdd(0, idx(device), s),
        ];
      },
      { grad: true },
    );
  });
});

describe('conv2d and pooling', () => {
  const cases = [
    { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
    { stride: [2, 1], padding: [0, 2], dilation: [1, 2], groups: 1 },
    { stride: [2, 2], padding: [1, 0], dilation: [1, 1], groups: 2 },
  ] as const;
  for (const c of cases) {
    it(`conv2d ${JSON.stringify(c)} forward and both gradients`, () =>
      expectParity(
        [
          [2, 4, 9, 8],
          [6, 4 / c.groups, 3, 3],
        ],
        ([x, w]) => k.conv2d(x, w, null, c),
        {
          grad: true,
          tol: { rtol: 1e-4, atol: 1e-3 },
        },
      ));
  }
  it('maxPool2d and avgPool2d (padding, ceil mode, dilation) with gradients', () =>
    expectParity(
      [[2, 3, 9, 10]],
      ([x]) => [
        k.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1, dilation: [1, 2] }),
        k.maxPool2d(x, { kernelSize: 2, ceilMode: true }),
        k.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }),
        k.avgPool2d(x, { kernelSize: [2, 3], stride: 2, padding: 1, countIncludePad: false, ceilMode: true }),
      ],
      { grad: true },
    ));
});

describe('random stream', () => {
  it('the same seed gives the same numbers on CPU and WebGPU, past 2^32 counters too', async () => {
    const draw = async (device: string) => {
      k.manualSeed(99);
      const u = await valuesOf(k.rand([4099], { device }));
      const n = await valuesOf(k.randn([777], { device }));
      return { u, n };
    };
    const cpu = await draw('cpu');
    const gpu = await draw('webgpu');
    expect(compareValues(gpu.u, cpu.u, { rtol: 0, atol: 1e-7 })).toBeNull();
    expect(compareValues(gpu.n, cpu.n, { rtol: 1e-5, atol: 1e-5 })).toBeNull();
    const state = k.getRngState();
    const far = { key: state.key, offset: 2 ** 32 - 3 };
    k.setRngState(far);
    const a = await valuesOf(k.rand([8], { device: 'webgpu' }));
    k.setRngState(far);
    const b = await valuesOf(k.rand([8], { device: 'cpu' }));
    expect(compareValues(a, b, { rtol: 0, atol: 1e-7 })).toBeNull();
  });
});

describe('out-of-range indices: the CPU error at the next read', () => {
  const ints = (values: number[], device: string) => k.tensor(values, { device, dtype: 'int32' });
  const cases: [string, (device: string) => k.Tensor][] = [
    ['gather', (d) => k.gather(k.ones([2, 3], { device: d }), 1, ints([0, 3, 1, 2], d).reshape([2, 2]))],
    [
      'scatterAdd',
      (d) => k.scatterAdd(k.zeros([4], { device: d }), 0, ints([1, -1], d), k.ones([2], { device: d })),
    ],
    ['indexSelect', (d) => k.indexSelect(k.ones([3, 2], { device: d }), 0, ints([2, 7], d))],
    [
      'indexAdd',
      (d) => k.indexAdd(k.zeros([3, 2], { device: d }), 0, ints([0, 3], d), k.ones([2, 2], { device: d })),
    ],
  ];
  for (const [op, make] of cases) {
    it(`${op}`, async () => {
      let cpuError = '';
      try {
        await valuesOf(make('cpu'));
      } catch (e) {
        cpuError = (e as Error).message;
      }
      expect(cpuError).toMatch(
        new RegExp(`^${op}: index -?\\d+ is out of bounds for dimension with size \\d+$`),
      );
      const y = make('webgpu');
      // Any later read reports it (here one of an unrelated tensor), then the device goes on.
      await expect(valuesOf(k.ones([2], { device: 'webgpu' }).add(y.sum()))).rejects.toThrow(cpuError);
      expect([...(await valuesOf(k.ones([2], { device: 'webgpu' })))]).toEqual([1, 1]);
    });
  }
});
