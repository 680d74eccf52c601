// Loss parity with torch.nn.functional (scripts/fixtures/nn_losses.py): values and input
// gradients for every reduction, class weights, ignore_index, label smoothing, [N, C, d1, ...]
// inputs and probability targets; plus the argument errors.
import * as k from '@kiln/core';
import '@kiln/backend-cpu';
import { afterAll, describe, expect, it } from 'vitest';
import { F } from '../index.js';
import {
  type EncodedTensor,
  expectClose,
  F32,
  F64,
  readFixture,
  reportErrors,
  type Tolerance,
  toTensor,
} from '../testing/fixtures.js';

interface LossCase {
  fn: string;
  options: Record<string, unknown>;
  tensorOptions: Record<string, EncodedTensor>;
  inputs: EncodedTensor[];
  output: EncodedTensor;
  upstream: EncodedTensor;
  grads: (EncodedTensor | null)[];
}

const fixture = readFixture<{ torch_version: string; cases: Record<string, LossCase> }>('losses.json');

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

type LossFn = (input: k.Tensor, target: k.Tensor, options: Record<string, unknown>) => k.Tensor;

function runCase(name: string, c: LossCase, dtype: k.DType, tol: Tolerance): void {
  const fn = (F as unknown as Record<string, LossFn>)[c.fn];
  const inputs = c.inputs.map((e) => {
    const t = toTensor(e, dtype);
    return k.isFloating(t.dtype) ? t.requiresGrad_() : t;
  });
  const options: Record<string, unknown> = { ...c.options };
  for (const [key, e] of Object.entries(c.tensorOptions)) options[camel(key)] = toTensor(e, dtype);
  const out = fn(inputs[0], inputs[1], options);
  expectClose(out, c.output, tol, `${name} ${dtype} value`);
  out.mul(toTensor(c.upstream, dtype)).sum().backward();
  c.grads.forEach((g, i) => {
    if (g) expectClose(inputs[i].grad!, g, tol, `${name} ${dtype} grad ${i}`);
  });
}

describe(`losses match torch.nn.functional ${fixture.torch_version}`, () => {
  afterAll(() => reportErrors('loss parity'));
  for (const [name, c] of Object.entries(fixture.cases)) {
    it(`${name} (float64)`, () => k.tidy(() => runCase(name, c, 'float64', F64)));
    it(`${name} (float32)`, () => k.tidy(() => runCase(name, c, 'float32', F32)));
  }
});

describe('loss argument errors', () => {
  const logits = () => k.randn([4, 3]);
  it('names the expected target shape', () => {
    expect(() => F.crossEntropy(logits(), k.tensor([0, 1, 2]))).toThrow(
      /crossEntropy: expected target of shape \[4\] for input of shape \[4, 3\], got \[3\]/,
    );
  });
  it('rejects a class-weight vector of the wrong length', () => {
    expect(() => F.crossEntropy(logits(), k.tensor([0, 1, 2, 0]), { weight: k.ones([4]) })).toThrow(
      /weight tensor should be defined either for all 3 classes/,
    );
  });
  it('rejects mismatched regression shapes', () => {
    expect(() => F.mseLoss(k.zeros([2, 3]), k.zeros([3, 2]))).toThrow(
      /mseLoss: input of shape \[2, 3\] and target of shape \[3, 2\]/,
    );
  });
  it('rejects an unknown reduction', () => {
    expect(() => F.l1Loss(k.zeros([2]), k.zeros([2]), { reduction: 'avg' as never })).toThrow(
      /not a valid value for reduction/,
    );
  });
  it('reports an out-of-range class index', () => {
    expect(() => F.crossEntropy(logits(), k.tensor([0, 1, 2, 7]))).toThrow(/out of bounds/);
  });
});
