// torch.nn.functional parity for functions that are not layers (scripts/fixtures/nn_functional.py):
// F.pad in every mode (negative constant padding too), F.interpolate, scaledDotProductAttention
// with boolean, float and causal masks, and oneHot; values and input gradients.
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

interface FunctionalCase {
  fn: string;
  args: unknown[];
  inputs: EncodedTensor[];
  output: EncodedTensor;
  upstream?: EncodedTensor;
  grads?: (EncodedTensor | null)[];
}

const fixture = readFixture<{ torch_version: string; cases: Record<string, FunctionalCase> }>(
  'functional.json',
);

/** Replaces {tensor: i} references (at any depth) by the input tensors. */
function resolve(v: unknown, inputs: k.Tensor[]): unknown {
  if (Array.isArray(v)) return v.map((x) => resolve(x, inputs));
  if (typeof v === 'object' && v !== null) {
    if ('tensor' in v) return inputs[(v as { tensor: number }).tensor];
    return Object.fromEntries(Object.entries(v).map(([key, x]) => [key, resolve(x, inputs)]));
  }
  return v;
}

function runCase(name: string, c: FunctionalCase, dtype: k.DType, tol: Tolerance): void {
  const inputs = c.inputs.map((e) => {
    const t = toTensor(e, dtype);
    return k.isFloating(t.dtype) ? t.requiresGrad_() : t;
  });
  const fn = (F as unknown as Record<string, (...args: unknown[]) => k.Tensor>)[c.fn];
  const out = fn(...(resolve(c.args, inputs) as unknown[]));
  expectClose(out, c.output, tol, `${name} ${dtype} value`);
  if (!c.upstream || !c.grads) return;
  out.mul(toTensor(c.upstream, dtype)).sum().backward();
  c.grads.forEach((g, i) => {
    if (g) expectClose(inputs[i].grad!, g, tol, `${name} ${dtype} grad ${i}`);
  });
}

describe(`functional parity with torch.nn.functional ${fixture.torch_version}`, () => {
  afterAll(() => reportErrors('functional parity'));
  for (const [name, c] of Object.entries(fixture.cases)) {
    it(`${name} (float64)`, () => k.tidy(() => runCase(name, c, 'float64', F64)));
    it(`${name} (float32)`, () => k.tidy(() => runCase(name, c, 'float32', F32)));
  }
});

describe('functional argument errors', () => {
  it('pad refuses reflect padding as large as the dim, and odd-length padding', () => {
    expect(() => F.pad(k.zeros([1, 3]), [3, 0], 'reflect')).toThrow(
      /padding size should be less than the corresponding input dimension/,
    );
    expect(() => F.pad(k.zeros([2, 3]), [1, 2, 3])).toThrow(/divisible by 2/);
  });

  it('interpolate checks the mode against the rank', () => {
    expect(() => F.interpolate(k.zeros([1, 1, 4]), { size: 3, mode: 'bilinear' })).toThrow(
      /mode 'bilinear' expects a 4-D input/,
    );
    expect(() => F.interpolate(k.zeros([1, 1, 4]), { size: 3, mode: 'nearest', alignCorners: true })).toThrow(
      /alignCorners/,
    );
  });

  it('scaledDotProductAttention checks q/k/v agreement', () => {
    expect(() => F.scaledDotProductAttention(k.zeros([2, 4]), k.zeros([3, 5]), k.zeros([3, 2]))).toThrow(
      /must share the last dim/,
    );
  });
});
