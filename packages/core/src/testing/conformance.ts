// runConformanceSuite(device): the one test suite every backend runs. For every op in the op
// database and every sample: the device's float32 result and gradients must match the float64
// CPU reference; where the device computes in float64, autograd must also match finite
// differences. Then the behaviours every backend must share (autograd, views, memory, RNG).
import * as k from '@kiln/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerBehaviourTests } from './behaviours.js';
import { compareValues, FLOAT32_TOL, FLOAT64_TOL, type Tolerance, valuesOf } from './compare.js';
import { gradcheck, upstreamWeights, weightedLoss } from './gradcheck.js';
import { OP_DB, type OpInfo, outputsOf, type Sample } from './opdb.js';
import { materialize, SampleMaker, SampleRng } from './samples.js';

export interface ConformanceOptions {
  /** Only ops whose name matches (for debugging a backend). */
  filter?: RegExp;
  /** Float dtype the device is tested in (float32 unless the backend says otherwise). */
  dtype?: k.DType;
}

interface Result {
  outputs: { dtype: k.DType; shape: readonly number[]; values: Float64Array }[];
  grads: (Float64Array | null)[];
}

/**
 * Runs one op sample on a device and reads back outputs and gradients as float64 numbers. Every
 * tensor it makes (inputs, outputs, weights, loss, gradients) is disposed when it returns.
 */
function evaluate(op: OpInfo, sample: Sample, device: string, dtype: k.DType): Promise<Result> {
  return k.tidy(async () => {
    const inputs = sample.inputs.map((h, i) => materialize(h, device, dtype, op.gradInputs.includes(i)));
    const outs = outputsOf(op.run(inputs, sample.args ?? {}));
    const outputs = [];
    for (const o of outs) outputs.push({ dtype: o.dtype, shape: o.shape, values: await valuesOf(o) });
    const grads: (Float64Array | null)[] = [];
    if (op.gradInputs.length) {
      const loss = weightedLoss(outs, upstreamWeights(outs, device, dtype));
      if (loss?.requiresGrad) {
        const gs = k.grad(
          loss,
          op.gradInputs.map((i) => inputs[i]),
          { allowUnused: true },
        );
        for (const g of gs) grads.push(g ? await valuesOf(g) : null);
      }
    }
    return { outputs, grads };
  });
}

const sameKind = (a: k.DType, b: k.DType) => a === b || (k.isFloating(a) && k.isFloating(b));

async function checkSample(op: OpInfo, sample: Sample, device: string, dtype: k.DType): Promise<void> {
  const tol: Tolerance = dtype === 'float64' ? FLOAT64_TOL : { ...FLOAT32_TOL, ...op.tolerance };
  const ref = await evaluate(op, sample, 'cpu', 'float64');
  const got = await evaluate(op, sample, device, dtype);
  expect(got.outputs.length).toBe(ref.outputs.length);
  got.outputs.forEach((o, j) => {
    const r = ref.outputs[j];
    expect(o.shape, `output ${j} shape`).toEqual(r.shape);
    expect(sameKind(o.dtype, r.dtype), `output ${j} dtype ${o.dtype} vs reference ${r.dtype}`).toBe(true);
    const exact = !k.isFloating(r.dtype);
    const msg = compareValues(o.values, r.values, exact ? { rtol: 0, atol: 0 } : tol);
    expect(msg, `output ${j}`).toBeNull();
  });
  expect(got.grads.length, 'gradients computed').toBe(ref.grads.length);
  got.grads.forEach((g, j) => {
    const r = ref.grads[j];
    if (r === null || g === null) {
      expect(g === null, `gradient ${j} presence`).toBe(r === null);
      return;
    }
    expect(compareValues(g, r, tol), `gradient of input ${op.gradInputs[j]}`).toBeNull();
  });
}

export function runConformanceSuite(device: string, options: ConformanceOptions = {}): void {
  const dtype = options.dtype ?? 'float32';
  describe(`conformance on '${device}'`, () => {
    beforeAll(() => k.ready(device));
    describe('ops vs the float64 CPU reference', () => {
      for (const op of OP_DB) {
        if (options.filter && !options.filter.test(op.name)) continue;
        const samples = op.samples(new SampleMaker(new SampleRng(hashName(op.name))));
        describe(op.name, () => {
          for (const sample of samples) {
            it(sample.label, async () => {
              await k.ready(device);
              await checkSample(op, sample, device, dtype);
            });
          }
        });
      }
    });

    describe('gradients vs finite differences (float64)', () => {
      for (const op of OP_DB) {
        if (!op.gradInputs.length || (options.filter && !options.filter.test(op.name))) continue;
        const samples = op.samples(new SampleMaker(new SampleRng(hashName(op.name))));
        // Small samples keep the O(numel) forward passes cheap.
        const small = samples.filter((s) => s.inputs.every((h) => h.values.length <= 64)).slice(0, 2);
        for (const sample of small) {
          it(`${op.name}: ${sample.label}`, async (ctx) => {
            await k.ready(device);
            if (!supportsFloat64(device)) {
              ctx.skip(`'${device}' does not compute in float64; finite differences run on 'cpu'`);
              return;
            }
            expect(gradcheck(op, sample, device)).toBeNull();
          });
        }
      }
    });

    registerBehaviourTests(device);
  });
}

function supportsFloat64(device: string): boolean {
  try {
    k.tidy(() => k.zeros([1], { dtype: 'float64', device }).add(1));
    return true;
  } catch {
    return false;
  }
}

/** Per-op seed, so adding an op does not change every other op's samples. */
function hashName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}
