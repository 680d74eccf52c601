// Layer parity with torch.nn (scripts/fixtures/nn_layers.py): given PyTorch's state dict, each
// layer's outputs and the gradients of its inputs and parameters match, in float64 (tight) and in
// float32; running statistics after a training forward match too, and so does the printed repr.
import * as k from '@kiln/core';
import '@kiln/backend-cpu';
import { afterAll, describe, expect, it } from 'vitest';
import { nn } from '../index.js';
import {
  type EncodedTensor,
  expectClose,
  F32,
  F64,
  readFixture,
  reportErrors,
  type Tolerance,
  toStateDict,
  toTensor,
} from '../testing/fixtures.js';

interface CallSpec {
  /** How many inputs are positional arguments. */
  positional: number;
  /** Inputs [start, end) passed as one tuple argument (LSTM's (h0, c0)). */
  tuple?: [number, number];
  /** Call options taking input tensors, by input index. */
  tensorOptions?: Record<string, number>;
  /** Literal call options. */
  options?: Record<string, unknown>;
}

interface Spec {
  type: string;
  args: unknown[];
  options?: Record<string, unknown>;
  mode?: 'train' | 'eval';
  call?: CallSpec;
}

interface LayerCase {
  spec: Spec;
  repr?: string;
  state: Record<string, EncodedTensor>;
  inputs: EncodedTensor[];
  outputs: (EncodedTensor | null)[];
  upstream: (EncodedTensor | null)[];
  inputGrads: (EncodedTensor | null)[];
  paramGrads: Record<string, EncodedTensor>;
  stateAfter?: Record<string, EncodedTensor>;
}

const fixture = readFixture<{ torch_version: string; cases: Record<string, LayerCase> }>('layers.json');

const PARAMETERISED = new Set([
  'Linear',
  'LazyLinear',
  'Bilinear',
  'LayerNorm',
  'GroupNorm',
  'RMSNorm',
  'BatchNorm1d',
  'BatchNorm2d',
  'Embedding',
  'Conv1d',
  'Conv2d',
  'ConvTranspose2d',
  'RNN',
  'GRU',
  'LSTM',
  'MultiheadAttention',
  'TransformerEncoderLayer',
  'TransformerDecoderLayer',
]);

const isSpec = (v: unknown): v is Spec => typeof v === 'object' && v !== null && 'type' in v && 'args' in v;

type LayerConstructor = new (...args: unknown[]) => nn.Module;

function build(spec: Spec, dtype: k.DType): nn.Module {
  if (spec.type === 'Sequential')
    return new nn.Sequential(...(spec.args as Spec[]).map((s) => build(s, dtype) as nn.TensorModule));
  const ctor = (nn as unknown as Record<string, LayerConstructor>)[spec.type];
  if (!ctor) throw new Error(`no layer nn.${spec.type}`);
  // Nested specs (a Transformer stack's layer, its norm) are built first; a Transformer takes dtype in its options.
  const resolve = (v: unknown) => (isSpec(v) ? build(v, dtype) : v);
  if (spec.type === 'Transformer') return new ctor({ ...(spec.args[0] as object), dtype });
  if (spec.type === 'TransformerEncoder' || spec.type === 'TransformerDecoder') {
    const options = Object.fromEntries(
      Object.entries(spec.options ?? {}).map(([key, v]) => [key, resolve(v)]),
    );
    return new ctor(...spec.args.map(resolve), options);
  }
  // Layers with parameters take factory options (dtype) after their positional arguments.
  const takesOptions = spec.options !== undefined || PARAMETERISED.has(spec.type);
  return takesOptions ? new ctor(...spec.args, { ...spec.options, dtype }) : new ctor(...spec.args);
}

function flatOutputs(out: unknown): (k.Tensor | null)[] {
  if (k.isTensor(out)) return [out];
  if (Array.isArray(out)) return out.flatMap(flatOutputs);
  if (out === null || out === undefined) return [null];
  throw new Error(`unexpected layer output ${typeof out}`);
}

function callForward(m: nn.Module, call: CallSpec | undefined, inputs: k.Tensor[]): unknown {
  const forward = m.forward.bind(m) as (...args: unknown[]) => unknown;
  if (!call) return forward(...inputs);
  const args: unknown[] = inputs.slice(0, call.positional);
  if (call.tuple && inputs.length > call.tuple[0]) args.push(inputs.slice(call.tuple[0], call.tuple[1]));
  if (call.tensorOptions || call.options) {
    const options: Record<string, unknown> = { ...call.options };
    for (const [name, i] of Object.entries(call.tensorOptions ?? {})) options[name] = inputs[i];
    args.push(options);
  }
  return forward(...args);
}

function runCase(name: string, c: LayerCase, dtype: k.DType, tol: Tolerance): void {
  const m = build(c.spec, dtype);
  m.loadStateDict(toStateDict(c.state, dtype));
  if (c.spec.mode === 'eval') m.eval();
  const inputs = c.inputs.map((e) => {
    const t = toTensor(e, dtype);
    return k.isFloating(t.dtype) ? t.requiresGrad_() : t;
  });
  const outputs = flatOutputs(callForward(m, c.spec.call, inputs));
  expect(outputs.length).toBe(c.outputs.length);
  let loss: k.Tensor | null = null;
  outputs.forEach((o, i) => {
    const want = c.outputs[i];
    if (want === null || o === null) return;
    expectClose(o, want, tol, `${name} ${dtype} output ${i}`);
    const up = c.upstream[i];
    if (up && o.requiresGrad) {
      const term = o.mul(toTensor(up, dtype)).sum();
      loss = loss ? loss.add(term) : term;
    }
  });
  if (c.stateAfter) {
    const sd = m.stateDict();
    for (const [key, want] of Object.entries(c.stateAfter))
      expectClose(sd[key], want, tol, `${name} ${dtype} state ${key}`);
  }
  if (loss === null) return;
  (loss as k.Tensor).backward();
  c.inputGrads.forEach((g, i) => {
    if (g) expectClose(inputs[i].grad!, g, tol, `${name} ${dtype} grad input ${i}`);
  });
  const params = new Map(m.namedParameters());
  for (const [pname, g] of Object.entries(c.paramGrads)) {
    const p = params.get(pname);
    if (!p) throw new Error(`${name}: no parameter ${pname} (have ${[...params.keys()].join(', ')})`);
    expectClose(p.grad!, g, tol, `${name} ${dtype} grad ${pname}`);
  }
}

describe(`layers match torch.nn ${fixture.torch_version}`, () => {
  afterAll(() => reportErrors('layer parity'));
  for (const [name, c] of Object.entries(fixture.cases)) {
    it(`${name}: forward and gradients (float64)`, () => k.tidy(() => runCase(name, c, 'float64', F64)));
    it(`${name}: forward and gradients (float32)`, () => k.tidy(() => runCase(name, c, 'float32', F32)));
    if (c.repr !== undefined) {
      it(`${name}: prints like PyTorch`, () => {
        expect(build(c.spec, 'float32').toString()).toBe(c.repr);
      });
    }
  }
});
