// The op database: one entry per op with sample inputs and what to check. Every backend runs all of
// it through runConformanceSuite(device): forward values and gradients against the float64 CPU
// reference, and (where the device computes in float64) gradients against finite differences.
import * as k from '@kiln/core';
import type { Domain, HostTensor, Layout, SampleMaker } from './samples.js';

export type OpOutput = k.Tensor | readonly k.Tensor[] | k.ValuesIndices;

export interface Sample {
  /** Shown in test names, e.g. "[3,4] x [4] transposed". */
  readonly label: string;
  readonly inputs: readonly HostTensor[];
  /** Non-tensor arguments, passed to `run`. */
  readonly args?: Readonly<Record<string, unknown>>;
}

export interface OpInfo {
  readonly name: string;
  /** Calls the op under test. */
  readonly run: (inputs: readonly k.Tensor[], args: Readonly<Record<string, unknown>>) => OpOutput;
  readonly samples: (make: SampleMaker) => Sample[];
  /** Inputs (by position) that gradients are checked for; empty for non-differentiable ops. */
  readonly gradInputs: readonly number[];
  /** Extra tolerance for ops that amplify float32 rounding (relative, absolute). */
  readonly tolerance?: { rtol: number; atol: number };
}

/** Flattens an op's output(s) to the tensors whose values are compared. */
export function outputsOf(o: OpOutput): k.Tensor[] {
  if (o instanceof k.Tensor) return [o];
  if (Array.isArray(o)) return [...o];
  const vi = o as k.ValuesIndices;
  return [vi.values, vi.indices];
}

const L = (shape: readonly number[]) => `[${shape.join(',')}]`;

// ---------------------------------------------------------------- unary

function unarySamples(domain: Domain) {
  return (m: SampleMaker): Sample[] => {
    const cases: [number[], Layout][] = [
      [[], 'contiguous'],
      [[0], 'contiguous'],
      [[7], 'contiguous'],
      [[3, 4], 'transposed'],
      [[2, 3, 5], 'strided'],
    ];
    return cases.map(([shape, layout]) => ({
      label: `${L(shape)} ${layout}`,
      inputs: [m.float(shape, { domain, layout })],
    }));
  };
}

function unary(
  name: string,
  fn: (x: k.Tensor) => k.Tensor,
  domain: Domain = 'real',
  differentiable = true,
): OpInfo {
  return { name, run: ([x]) => fn(x), samples: unarySamples(domain), gradInputs: differentiable ? [0] : [] };
}

const UNARY: OpInfo[] = [
  unary('neg', (x) => x.neg()),
  unary('abs', (x) => x.abs(), 'awayFromZero'),
  unary('exp', (x) => x.exp()),
  unary('expm1', (x) => x.expm1()),
  unary('log', (x) => x.log(), 'positive'),
  unary('log1p', (x) => x.log1p(), 'positive'),
  unary('sqrt', (x) => x.sqrt(), 'positive'),
  unary('rsqrt', (x) => x.rsqrt(), 'positive'),
  unary('square', (x) => x.square()),
  unary('sin', (x) => x.sin()),
  unary('cos', (x) => x.cos()),
  unary('tanh', (x) => x.tanh()),
  unary('sigmoid', (x) => x.sigmoid()),
  unary('relu', (x) => x.relu(), 'awayFromZero'),
  unary('gelu', (x) => x.gelu()),
  unary('gelu_tanh', (x) => x.gelu('tanh')),
  unary('silu', (x) => x.silu()),
  unary('erf', (x) => x.erf()),
  unary('reciprocal', (x) => x.reciprocal(), 'nonzero'),
  unary('sign', (x) => x.sign(), 'awayFromZero', false),
  unary('floor', (x) => x.floor(), 'real', false),
  unary('ceil', (x) => x.ceil(), 'real', false),
  unary('round', (x) => x.round(), 'real', false),
  unary('trunc', (x) => x.trunc(), 'real', false),
  unary('clamp', (x) => x.clamp(-0.5, 0.7), 'awayFromZero'),
  unary('clamp_min', (x) => x.clamp(0.2), 'awayFromZero'),
  unary('pow_scalar', (x) => x.pow(3)),
  unary('pow_fractional', (x) => x.pow(0.5), 'positive'),
  unary('scalar_pow', (x) => k.pow(2, x)),
  unary('add_scalar', (x) => x.add(2.5)),
  unary('rsub_scalar', (x) => k.sub(1, x)),
  unary('mul_scalar', (x) => x.mul(-3)),
  unary('div_scalar', (x) => x.div(4)),
  unary('rdiv_scalar', (x) => k.div(2, x), 'nonzero'),
  unary('softmax', (x) => (x.ndim ? x.softmax(-1) : x.softmax(0))),
  unary('logSoftmax', (x) => (x.ndim ? x.logSoftmax(-1) : x.logSoftmax(0))),
  unary('logicalNot', (x) => x.gt(0).logicalNot(), 'real', false),
];

// ---------------------------------------------------------------- binary (broadcasting)

const BINARY_SHAPES: [number[], number[], Layout][] = [
  [[3, 4], [3, 4], 'contiguous'],
  [[3, 4], [4], 'transposed'],
  [[2, 1, 4], [3, 1], 'contiguous'],
  [[], [3], 'contiguous'],
  [[2, 3, 4], [2, 3, 4], 'strided'],
  [[0, 3], [3], 'contiguous'],
];

function binary(
  name: string,
  fn: (a: k.Tensor, b: k.Tensor) => k.Tensor,
  opts: { domainA?: Domain; domainB?: Domain; differentiable?: boolean } = {},
): OpInfo {
  return {
    name,
    run: ([a, b]) => fn(a, b),
    samples: (m) =>
      BINARY_SHAPES.map(([sa, sb, layout]) => ({
        label: `${L(sa)} with ${L(sb)} ${layout}`,
        inputs: [
          m.float(sa, { domain: opts.domainA, layout }),
          m.float(sb, { domain: opts.domainB, layout }),
        ],
      })),
    gradInputs: opts.differentiable === false ? [] : [0, 1],
  };
}

/**
 * The gradient of gelu as an op of (upstream gradient, input), taken with createGraph so that the
 * suite also checks its own gradients: GELU's second derivative, and the backward kernel's values.
 */
function geluGradient(name: string, approximate: 'none' | 'tanh'): OpInfo {
  // [7] first: finite differences take the first two small samples.
  const cases: [number[], Layout][] = [
    [[7], 'contiguous'],
    [[], 'contiguous'],
    [[0], 'contiguous'],
    [[3, 4], 'transposed'],
    [[2, 3, 5], 'strided'],
  ];
  return {
    name,
    run: ([g, x]) => {
      // Finite differences evaluate the op on inputs that do not require grad.
      const xg = x.requiresGrad ? x : x.detach().requiresGrad_();
      return k.grad(xg.gelu(approximate), xg, { gradOutputs: [g], createGraph: true })[0]!;
    },
    samples: (m) =>
      cases.map(([shape, layout]) => ({
        label: `${L(shape)} ${layout}`,
        inputs: [m.float(shape, { layout }), m.float(shape, { layout })],
      })),
    gradInputs: [0, 1],
  };
}

const BINARY: OpInfo[] = [
  binary('add', (a, b) => a.add(b)),
  binary('add_alpha', (a, b) => a.add(b, 0.5)),
  binary('sub', (a, b) => a.sub(b)),
  binary('mul', (a, b) => a.mul(b)),
  binary('div', (a, b) => a.div(b), { domainB: 'nonzero' }),
  binary('pow', (a, b) => a.pow(b), { domainA: 'positive' }),
  binary('maximum', (a, b) => a.maximum(b)),
  binary('minimum', (a, b) => a.minimum(b)),
  binary('atan2', (a, b) => a.atan2(b), { domainB: 'nonzero' }),
  binary('remainder', (a, b) => a.remainder(b), { domainB: 'nonzero', differentiable: false }),
  binary('lerp', (a, b) => a.lerp(b, 0.3)),
  binary('eq', (a, b) => a.round().eq(b.round()), { differentiable: false }),
  binary('ne', (a, b) => a.round().ne(b.round()), { differentiable: false }),
  binary('lt', (a, b) => a.lt(b), { differentiable: false }),
  binary('le', (a, b) => a.le(b), { differentiable: false }),
  binary('gt', (a, b) => a.gt(b), { differentiable: false }),
  binary('ge', (a, b) => a.ge(b), { differentiable: false }),
  binary('logicalAnd', (a, b) => a.gt(0).logicalAnd(b.gt(0)), { differentiable: false }),
  binary('logicalOr', (a, b) => a.gt(0).logicalOr(b.gt(0)), { differentiable: false }),
  binary('where', (a, b) => k.where(a.gt(b), a, b)),
  binary('maskedFill', (a, b) => a.maskedFill(b.gt(0), -1.5)),
  geluGradient('gelu_backward', 'none'),
  geluGradient('gelu_tanh_backward', 'tanh'),
];

// ---------------------------------------------------------------- reductions

type ReduceCase = {
  dim?: number | number[];
  keepdim?: boolean;
};

const REDUCE_CASES: ReduceCase[] = [
  {},
  { dim: 0 },
  { dim: -1, keepdim: true },
  { dim: [0, 2] },
  { dim: 1, keepdim: false },
];

function reduction(
  name: string,
  fn: (x: k.Tensor, c: ReduceCase) => k.Tensor,
  differentiable = true,
  domain: Domain = 'real',
): OpInfo {
  return {
    name,
    run: ([x], args) => fn(x, args as ReduceCase),
    samples: (m) => [
      ...REDUCE_CASES.map((c, i) => ({
        label: `[3,4,5] dim=${JSON.stringify(c.dim)} keepdim=${c.keepdim ?? false}`,
        inputs: [
          m.float([3, 4, 5], { domain, layout: (['contiguous', 'transposed', 'strided'] as const)[i % 3] }),
        ],
        args: c,
      })),
      { label: '[] all', inputs: [m.float([], { domain })], args: {} },
    ],
    gradInputs: differentiable ? [0] : [],
  };
}

/** Reductions over one dim only (prod, cumsum, arg-reductions). */
function singleDim(
  name: string,
  fn: (x: k.Tensor, dim: number | undefined, keepdim: boolean) => k.Tensor | k.ValuesIndices,
  differentiable: boolean,
  domain: Domain = 'real',
): OpInfo {
  const cases: [number | undefined, boolean, Layout][] = [
    [undefined, false, 'contiguous'],
    [0, false, 'transposed'],
    [-1, true, 'strided'],
    [1, false, 'contiguous'],
  ];
  return {
    name,
    run: ([x], args) => fn(x, args.dim as number | undefined, args.keepdim as boolean),
    samples: (m) =>
      cases.map(([dim, keepdim, layout]) => ({
        label: `[3,4,5] dim=${dim} keepdim=${keepdim} ${layout}`,
        inputs: [m.float([3, 4, 5], { domain, layout })],
        args: { dim, keepdim },
      })),
    gradInputs: differentiable ? [0] : [],
  };
}

const REDUCTIONS: OpInfo[] = [
  reduction('sum', (x, c) => x.sum(c.dim, c.keepdim)),
  reduction('mean', (x, c) => x.mean(c.dim, c.keepdim)),
  reduction('var', (x, c) =>
    x.ndim ? x.var(c.dim, { keepdim: c.keepdim }) : x.var(c.dim, { correction: 0 }),
  ),
  reduction('var_correction0', (x, c) => x.var(c.dim, { correction: 0, keepdim: c.keepdim })),
  reduction('std', (x, c) =>
    x.ndim ? x.std(c.dim, { keepdim: c.keepdim }) : x.std(c.dim, { correction: 0 }),
  ),
  reduction('norm', (x, c) => x.norm(2, c.dim, c.keepdim)),
  reduction('norm_p1', (x, c) => x.norm(1, c.dim, c.keepdim), true, 'awayFromZero'),
  reduction('norm_p3', (x, c) => x.norm(3, c.dim, c.keepdim), true, 'awayFromZero'),
  reduction('amax', (x, c) => x.amax(c.dim, c.keepdim)),
  reduction('amin', (x, c) => x.amin(c.dim, c.keepdim)),
  reduction('logsumexp', (x, c) => x.logsumexp(c.dim ?? x.shape.map((_, i) => i), c.keepdim)),
  reduction('any', (x, c) => x.gt(0.5).any(typeof c.dim === 'number' ? c.dim : undefined, c.keepdim), false),
  reduction('all', (x, c) => x.gt(-1.5).all(typeof c.dim === 'number' ? c.dim : undefined, c.keepdim), false),
  singleDim('prod', (x, d, kd) => x.prod(d, kd), true, 'nonzero'),
  singleDim('cumsum', (x, d) => x.cumsum(d ?? 0), true),
  singleDim('argmax', (x, d, kd) => x.argmax(d, kd), false),
  singleDim('argmin', (x, d, kd) => x.argmin(d, kd), false),
  singleDim('max_dim', (x, d, kd) => (d === undefined ? x.max() : x.max(d, kd)), true),
  singleDim('min_dim', (x, d, kd) => (d === undefined ? x.min() : x.min(d, kd)), true),
  singleDim('softmax_dim', (x, d) => x.softmax(d ?? 0), true),
  singleDim('logSoftmax_dim', (x, d) => x.logSoftmax(d ?? 0), true),
];

// ---------------------------------------------------------------- shape and views

function shapeOp(
  name: string,
  shape: number[],
  fn: (x: k.Tensor) => k.Tensor | readonly k.Tensor[],
  layout: Layout = 'contiguous',
): OpInfo {
  return {
    name,
    run: ([x]) => fn(x),
    samples: (m) => [
      { label: `${L(shape)} contiguous`, inputs: [m.float(shape)] },
      {
        label: `${L(shape)} ${layout === 'contiguous' ? 'transposed' : layout}`,
        inputs: [m.float(shape, { layout: layout === 'contiguous' ? 'transposed' : layout })],
      },
    ],
    gradInputs: [0],
  };
}

const SHAPE_OPS: OpInfo[] = [
  shapeOp('reshape', [3, 4], (x) => x.reshape(2, -1, 2)),
  shapeOp('flatten', [2, 3, 4], (x) => x.flatten(1)),
  shapeOp('squeeze', [3, 1, 4], (x) => x.squeeze(1)),
  shapeOp('unsqueeze', [3, 4], (x) => x.unsqueeze(-1)),
  shapeOp('permute', [2, 3, 4], (x) => x.permute(2, 0, 1)),
  shapeOp('transpose', [2, 3, 4], (x) => x.transpose(0, -1)),
  shapeOp('T', [3, 4], (x) => x.T),
  shapeOp('expand', [3, 1], (x) => x.expand(2, 3, 5)),
  shapeOp('contiguous', [3, 4], (x) => x.contiguous()),
  shapeOp('clone', [3, 4], (x) => x.clone()),
  shapeOp('slice', [5, 6], (x) => x.slice(1, 1, -1, 2)),
  shapeOp('select', [5, 6], (x) => x.select(0, -2)),
  shapeOp('narrow', [5, 6], (x) => x.narrow(1, 2, 3)),
  shapeOp('split', [6, 4], (x) => x.split(4)),
  shapeOp('split_sizes', [6, 4], (x) => x.split([1, 3], 1)),
  shapeOp('chunk', [7, 4], (x) => x.chunk(3)),
  shapeOp('unbind', [3, 4], (x) => x.unbind(1)),
  shapeOp('repeat', [2, 3], (x) => x.repeat(2, 1, 2)),
  shapeOp('flip', [3, 4], (x) => x.flip([0, 1])),
  shapeOp('tril', [4, 5], (x) => x.tril(1)),
  shapeOp('triu', [4, 5], (x) => x.triu(-1)),
  shapeOp('diagonal', [4, 5], (x) => k.diagonal(x, 1)),
  shapeOp('trace', [4, 4], (x) => x.trace()),
  shapeOp('diag_1d', [4], (x) => x.diag(-1)),
  {
    name: 'cat',
    run: ([a, b]) => k.cat([a, b], 1),
    samples: (m) => [
      { label: '[3,2] + [3,4]', inputs: [m.float([3, 2]), m.float([3, 4], { layout: 'transposed' })] },
      { label: '[3,0] + [3,4]', inputs: [m.float([3, 0]), m.float([3, 4])] },
    ],
    gradInputs: [0, 1],
  },
  {
    name: 'stack',
    run: ([a, b]) => k.stack([a, b], -1),
    samples: (m) => [
      { label: '2 x [3,4]', inputs: [m.float([3, 4]), m.float([3, 4], { layout: 'strided' })] },
    ],
    gradInputs: [0, 1],
  },
];

// ---------------------------------------------------------------- linear algebra

function pair(
  name: string,
  fn: (a: k.Tensor, b: k.Tensor) => k.Tensor,
  shapes: [number[], number[], Layout][],
): OpInfo {
  return {
    name,
    run: ([a, b]) => fn(a, b),
    samples: (m) =>
      shapes.map(([sa, sb, layout]) => ({
        label: `${L(sa)} x ${L(sb)} ${layout}`,
        inputs: [m.float(sa, { layout }), m.float(sb, { layout })],
      })),
    gradInputs: [0, 1],
  };
}

const LINALG: OpInfo[] = [
  pair('matmul', (a, b) => a.matmul(b), [
    [[3, 4], [4, 5], 'contiguous'],
    [[3, 4], [4, 5], 'transposed'],
    [[4], [4, 5], 'contiguous'],
    [[3, 4], [4], 'contiguous'],
    [[4], [4], 'contiguous'],
    [[2, 3, 4], [4, 5], 'strided'],
    [[2, 1, 3, 4], [3, 4, 2], 'transposed'],
    [[0, 4], [4, 3], 'contiguous'],
  ]),
  pair('mm', (a, b) => a.mm(b), [[[5, 3], [3, 2], 'transposed']]),
  pair('bmm', (a, b) => a.bmm(b), [[[2, 3, 4], [2, 4, 5], 'strided']]),
  pair('dot', (a, b) => a.dot(b), [[[6], [6], 'strided']]),
  pair('outer', (a, b) => a.outer(b), [[[3], [4], 'contiguous']]),
  pair('einsum_bij_bjk', (a, b) => k.einsum('bij,bjk->bik', a, b), [[[2, 3, 4], [2, 4, 5], 'transposed']]),
  pair('einsum_ij_kj', (a, b) => k.einsum('ij,kj->ik', a, b), [[[3, 4], [5, 4], 'contiguous']]),
  pair('einsum_outer_sum', (a, b) => k.einsum('i,j', a, b), [[[3], [4], 'contiguous']]),
];

// ---------------------------------------------------------------- indexing

const INDEXING: OpInfo[] = [
  {
    name: 'gather',
    run: ([x, i], a) => x.gather(a.dim as number, i),
    samples: (m) => [
      {
        label: '[4,5] dim=1',
        inputs: [m.float([4, 5], { layout: 'transposed' }), m.int([4, 3], 0, 5)],
        args: { dim: 1 },
      },
      { label: '[4,5] dim=0', inputs: [m.float([4, 5]), m.int([2, 5], 0, 4)], args: { dim: 0 } },
    ],
    gradInputs: [0],
  },
  {
    name: 'scatterAdd',
    run: ([x, i, s], a) => x.scatterAdd(a.dim as number, i, s),
    samples: (m) => [
      {
        label: '[4,5] dim=1 repeated indices',
        inputs: [m.float([4, 5]), m.int([4, 6], 0, 5), m.float([4, 6])],
        args: { dim: 1 },
      },
      {
        label: '[4,5] dim=0',
        inputs: [m.float([4, 5], { layout: 'strided' }), m.int([3, 5], 0, 4), m.float([3, 5])],
        args: { dim: 0 },
      },
    ],
    gradInputs: [0, 2],
  },
  {
    name: 'indexSelect',
    run: ([x, i], a) => x.indexSelect(a.dim as number, i),
    samples: (m) => [
      {
        label: '[4,5] dim=0 repeated',
        inputs: [m.float([4, 5], { layout: 'transposed' }), m.int([6], 0, 4)],
        args: { dim: 0 },
      },
      { label: '[4,5] dim=-1', inputs: [m.float([4, 5]), m.int([3], 0, 5)], args: { dim: -1 } },
    ],
    gradInputs: [0],
  },
  {
    name: 'indexAdd',
    run: ([x, i, s], a) => x.indexAdd(a.dim as number, i, s, 2),
    samples: (m) => [
      {
        label: '[4,5] dim=0',
        inputs: [m.float([4, 5]), m.int([3], 0, 4), m.float([3, 5])],
        args: { dim: 0 },
      },
    ],
    gradInputs: [0, 2],
  },
  {
    name: 'topk',
    run: ([x], a) => x.topk(3, a.dim as number, a.largest as boolean),
    samples: (m) => [
      {
        label: '[4,6] largest',
        inputs: [m.float([4, 6], { layout: 'transposed' })],
        args: { dim: -1, largest: true },
      },
      { label: '[4,6] smallest dim 0', inputs: [m.float([4, 6])], args: { dim: 0, largest: false } },
    ],
    gradInputs: [0],
  },
  {
    name: 'sort',
    run: ([x], a) => x.sort(a.dim as number, a.descending as boolean),
    samples: (m) => [
      {
        label: '[4,6] ascending',
        inputs: [m.float([4, 6], { layout: 'strided' })],
        args: { dim: -1, descending: false },
      },
      { label: '[4,6] descending dim 0', inputs: [m.float([4, 6])], args: { dim: 0, descending: true } },
    ],
    gradInputs: [0],
  },
];

// ---------------------------------------------------------------- convolution and pooling

function convOp(
  name: string,
  run: OpInfo['run'],
  cases: { label: string; shapes: number[][]; args?: Record<string, unknown> }[],
  gradInputs: number[],
): OpInfo {
  return {
    name,
    run,
    samples: (m) =>
      cases.map((c, i) => ({
        label: c.label,
        inputs: c.shapes.map((sh, j) =>
          m.float(sh, { layout: i % 2 === 1 && j === 0 ? 'transposed' : 'contiguous' }),
        ),
        args: c.args,
      })),
    gradInputs,
  };
}

const CONV: OpInfo[] = [
  convOp(
    'conv2d',
    ([x, w, b], a) => k.conv2d(x, w, b, a),
    [
      {
        label: '[2,3,7,6] 3x3 pad 1 + bias',
        shapes: [[2, 3, 7, 6], [4, 3, 3, 3], [4]],
        args: { padding: 1 },
      },
      {
        label: '[1,3,9,8] stride 2 dilation 2',
        shapes: [[1, 3, 9, 8], [2, 3, 3, 2], [2]],
        args: { stride: 2, dilation: 2 },
      },
      { label: '[1,4,5,5] groups 2', shapes: [[1, 4, 5, 5], [6, 2, 3, 3], [6]], args: { groups: 2 } },
      {
        label: "[1,2,6,5] 'same' even kernel",
        shapes: [[1, 2, 6, 5], [3, 2, 2, 4], [3]],
        args: { padding: 'same' },
      },
    ],
    [0, 1, 2],
  ),
  convOp(
    'conv1d',
    ([x, w], a) => k.conv1d(x, w, null, a),
    [
      {
        label: '[2,3,9] k3 stride 2',
        shapes: [
          [2, 3, 9],
          [4, 3, 3],
        ],
        args: { stride: 2 },
      },
    ],
    [0, 1],
  ),
  convOp(
    'convTranspose2d',
    ([x, w, b], a) => k.convTranspose2d(x, w, b, a),
    [
      {
        label: '[1,4,4,5] stride 2 pad 1 outputPadding 1',
        shapes: [[1, 4, 4, 5], [4, 3, 3, 3], [3]],
        args: { stride: 2, padding: 1, outputPadding: 1 },
      },
      { label: '[2,4,3,3] groups 2', shapes: [[2, 4, 3, 3], [4, 1, 2, 2], [2]], args: { groups: 2 } },
    ],
    [0, 1, 2],
  ),
  convOp(
    'maxPool2d',
    ([x], a) => k.maxPool2d(x, a as unknown as Parameters<typeof k.maxPool2d>[1]),
    [
      { label: '[2,3,6,7] 2x2', shapes: [[2, 3, 6, 7]], args: { kernelSize: 2 } },
      {
        label: '[1,2,7,7] 3x3 stride 2 pad 1 ceilMode',
        shapes: [[1, 2, 7, 7]],
        args: { kernelSize: 3, stride: 2, padding: 1, ceilMode: true },
      },
    ],
    [0],
  ),
  convOp(
    'avgPool2d',
    ([x], a) => k.avgPool2d(x, a as unknown as Parameters<typeof k.avgPool2d>[1]),
    [
      { label: '[2,3,6,7] 2x2', shapes: [[2, 3, 6, 7]], args: { kernelSize: 2 } },
      {
        label: '[1,2,7,7] 3x3 stride 2 pad 1 exclude pad',
        shapes: [[1, 2, 7, 7]],
        args: { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false },
      },
    ],
    [0],
  ),
  convOp(
    'adaptiveAvgPool2d',
    ([x], a) => k.adaptiveAvgPool2d(x, a.size as [number, number]),
    [{ label: '[1,2,7,5] -> [3,2]', shapes: [[1, 2, 7, 5]], args: { size: [3, 2] } }],
    [0],
  ),
];

/** The database by family, as the README's coverage table shows it. */
// ---------------------------------------------------------------- normalization and optimizer steps

function layerNormCase(
  label: string,
  shape: number[],
  normalized: number[],
  affine: boolean,
  layout: Layout = 'contiguous',
): (m: SampleMaker) => Sample {
  return (m) => ({
    label,
    inputs: [m.float(shape, { layout }), ...(affine ? [m.float(normalized), m.float(normalized)] : [])],
    args: { normalized },
  });
}

const LAYER_NORM_CASES = [
  layerNormCase('[4,6] over [6], affine', [4, 6], [6], true),
  layerNormCase('[2,3,5] transposed over [5], affine', [2, 3, 5], [5], true, 'transposed'),
  layerNormCase('[2,3,5] over [3,5], affine', [2, 3, 5], [3, 5], true),
  layerNormCase('[0,4] over [4], affine', [0, 4], [4], true),
];

/** One Adam or AdamW step on copies of (param, grad, m, v); v is made non-negative first. */
function adamStep(name: string, decoupled: boolean): OpInfo {
  return {
    name,
    run: ([p, g, m, v], args) => {
      const param = p.clone();
      const expAvg = m.clone();
      const expAvgSq = v.abs();
      k.adamStep_(param, g, expAvg, expAvgSq, {
        lr: 1e-2,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0.1,
        decoupled,
        step: args.step as number,
      });
      return [param, expAvg, expAvgSq];
    },
    samples: (m) =>
      (
        [
          [[7], 'contiguous', 1],
          [[3, 4], 'transposed', 5],
          [[2, 3, 5], 'contiguous', 100],
        ] as const
      ).map(([shape, layout, step]) => ({
        label: `${L(shape)} ${layout} step ${step}`,
        inputs: [m.float(shape), m.float(shape, { layout }), m.float(shape), m.float(shape)],
        args: { step },
      })),
    gradInputs: [],
  };
}

const NORMALIZATION: OpInfo[] = [
  {
    name: 'layer_norm',
    run: ([x, w, b], args) => k.layerNorm(x, args.normalized as number[], w ?? null, b ?? null, 1e-5),
    samples: (m) => LAYER_NORM_CASES.map((c) => c(m)),
    gradInputs: [0, 1, 2],
  },
  {
    name: 'layer_norm_no_affine',
    run: ([x], args) => k.layerNorm(x, args.normalized as number[]),
    samples: (m) =>
      [
        layerNormCase('[3,8] over [8]', [3, 8], [8], false),
        layerNormCase('[2,3,4] strided over [3,4]', [2, 3, 4], [3, 4], false, 'strided'),
      ].map((c) => c(m)),
    gradInputs: [0],
  },
  {
    name: 'cross_entropy_rows',
    run: ([x], args) =>
      k.crossEntropyRows(x, k.tensor(args.target as number[], { dtype: 'int32', device: x.device }), {
        ignoreIndex: -100,
        labelSmoothing: args.smoothing as number,
      }),
    samples: (m) =>
      (
        [
          [[5, 7], 'contiguous', [0, 6, -100, 3, 3], 0],
          [[4, 6], 'transposed', [5, 0, 2, -100], 0.1],
          [[3, 9], 'strided', [8, 1, 4], 0],
          [[0, 3], 'contiguous', [], 0.2],
        ] as const
      ).map(([shape, layout, target, smoothing]) => ({
        label: `${L(shape)} ${layout}${smoothing ? ` smoothing ${smoothing}` : ''}`,
        inputs: [m.float(shape, { layout })],
        args: { target, smoothing },
      })),
    gradInputs: [0],
  },
  {
    name: 'attention',
    run: ([q, key, v], args) => {
      const mask = args.mask as number[][] | undefined;
      return k.scaledDotProductAttention(q, key, v, {
        causal: args.causal as boolean,
        // [B, 1, L, S]: per batch row, which keys each query may see (a padding-style mask).
        mask: mask
          ? k.tensor(mask, { device: q.device }).ne(0).reshape(q.shape[0], 1, q.shape[2], key.shape[2])
          : null,
      });
    },
    samples: (m) =>
      (
        [
          ['no mask', [2, 2, 4, 3], 5, 6, 'contiguous', false, undefined],
          ['causal', [1, 2, 4, 4], 4, 4, 'contiguous', true, undefined],
          ['causal, 2 new queries over 5 keys', [2, 1, 2, 3], 5, 3, 'transposed', true, undefined],
          [
            'padding mask, one query sees no key',
            [2, 1, 2, 3],
            3,
            2,
            'contiguous',
            false,
            [
              [1, 1, 0, 1, 0, 0],
              [0, 0, 0, 1, 1, 1],
            ],
          ],
        ] as const
      ).map(([label, qShape, s, ev, layout, causal, mask]) => {
        const [b, h, , e] = qShape;
        return {
          label,
          inputs: [m.float(qShape, { layout }), m.float([b, h, s, e]), m.float([b, h, s, ev])],
          args: { causal, mask },
        };
      }),
    gradInputs: [0, 1, 2],
  },
  ...(['none', 'relu', 'gelu', 'geluTanh'] as const).map(
    (activation): OpInfo => ({
      name: `linear_${activation}`,
      run: ([x, w, b]) => k.linear(x, w, b ?? null, activation),
      samples: (m) => [
        { label: '[5,4] x [3,4]^T + [3]', inputs: [m.float([5, 4]), m.float([3, 4]), m.float([3])] },
        {
          label: '[2,3,4] x transposed [4,6] weight + [6]',
          inputs: [
            m.float([2, 3, 4], { layout: 'strided' }),
            m.float([6, 4], { layout: 'transposed' }),
            m.float([6]),
          ],
        },
        { label: '[0,4] x [2,4]^T + [2]', inputs: [m.float([0, 4]), m.float([2, 4]), m.float([2])] },
      ],
      gradInputs: [0, 1, 2],
    }),
  ),
  {
    name: 'linear_no_bias',
    run: ([x, w]) => k.linear(x, w, null, 'geluTanh'),
    samples: (m) => [{ label: '[3,5] x [2,5]^T', inputs: [m.float([3, 5]), m.float([2, 5])] }],
    gradInputs: [0, 1],
  },
  adamStep('adam_step', false),
  adamStep('adamw_step', true),
];

export const OP_GROUPS: Readonly<Record<string, readonly OpInfo[]>> = {
  'unary and scalar': UNARY,
  'binary (broadcasting)': BINARY,
  reductions: REDUCTIONS,
  'shape and views': SHAPE_OPS,
  'linear algebra': LINALG,
  indexing: INDEXING,
  'convolution and pooling': CONV,
  'normalization and optimizer steps': NORMALIZATION,
};

export const OP_DB: readonly OpInfo[] = Object.values(OP_GROUPS).flat();
