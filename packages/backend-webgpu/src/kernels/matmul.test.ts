// The direct matmul kernel (the default on fallback adapters) against the CPU backend in both of
// its block classes (4 and 16 rows or columns per invocation, chosen by the operand's extent) and
// with every way it reads an operand: vec4s along K, vec4s along M / N clamped at the edge, the
// scalar K tail, strided scalars, and int32 words.
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { compareValues, SampleRng, valuesOf } from '@kiln/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { destroyWebGPUBackend, webgpuBackend } from '../index.js';

beforeAll(async () => {
  await k.ready('webgpu');
  (await webgpuBackend()).matmulVariant = 'direct';
});
afterAll(destroyWebGPUBackend);

const rng = new SampleRng(20261122);

/** Runs `fn` on both devices from the same fresh inputs of `shapes`; the GPU's products must match the CPU's. */
async function expectMatchesCpu(
  shapes: number[][],
  fn: (xs: k.Tensor[]) => k.Tensor[],
  dtype: k.DType = 'float32',
) {
  const hosts = shapes.map((s) =>
    Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () =>
      dtype === 'int32' ? Math.round(4 * rng.normal()) : rng.normal(),
    ),
  );
  const run = async (device: string) => {
    const outs = fn(hosts.map((h, i) => k.tensor(h, { device }).reshape(shapes[i]).to(dtype)));
    const values = [];
    for (const o of outs) values.push(await valuesOf(o));
    return values;
  };
  const expected = await run('cpu');
  const actual = await run('webgpu');
  for (const [i, e] of expected.entries())
    expect(compareValues(actual[i], e, { rtol: 1e-4, atol: 1e-4 }), `product ${i}`).toBeNull();
}

describe('direct matmul', () => {
  it('vec4 reads along K and N in blocks of 4 and 16, clamped at the edge', () =>
    expectMatchesCpu(
      [
        [2, 8, 12],
        [12, 20],
        [12, 20],
        [8, 12],
      ],
      ([a, b, at, bt]) => [a.matmul(b), at.T.matmul(bt.T), a.matmul(bt.T)],
    ));
  it('vec4 reads along M and N with a K tail', () =>
    expectMatchesCpu(
      [
        [7, 36],
        [7, 20],
      ],
      ([at, b]) => [at.T.matmul(b)],
    ));
  it('strided scalar reads at odd sizes, one row and one column', () =>
    expectMatchesCpu(
      [
        [17, 9],
        [9, 33],
        [1, 9],
        [9, 1],
      ],
      ([a, b, row, col]) => [
        a.matmul(b),
        row.matmul(b),
        a.matmul(col),
        a.T.slice(0, 0, 9, 2).T.matmul(b.slice(0, 0, 5)),
      ],
    ));
  it('int32 operands', () =>
    expectMatchesCpu(
      [
        [3, 18, 21],
        [21, 17],
      ],
      ([a, b]) => [a.matmul(b)],
      'int32',
    ));
});
