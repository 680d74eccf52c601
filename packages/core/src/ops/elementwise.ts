// Elementwise ops: broadcasting, PyTorch type promotion, scalar operands and backward rules.
import { record } from '../autograd/record.js';
import type { BinaryOp, UnaryOp } from '../backend/kernels.js';
import {
  broadcastKernel,
  castTo,
  commonDevice,
  emptyTensor,
  requireCompute,
  scalarTensor,
} from '../dispatch/dispatch.js';
import { type DType, isFloating, resultType, toFloating } from '../dtype/dtype.js';
import { broadcastShapes } from '../shape/shape.js';
import { composite } from '../tensor/memory.js';
import type { Tensor, TensorOrScalar } from '../tensor/tensor.js';
import { zerosLike } from './creation.js';
import { sumTo } from './reduction.js';

type Operand = TensorOrScalar;

function isTensorOperand(x: Operand): x is Tensor {
  return typeof x === 'object';
}

function operandInfo(x: Operand) {
  return isTensorOperand(x) ? { dtype: x.dtype, ndim: x.ndim } : x;
}

/** How an op chooses its compute and output dtypes from the promoted input type. */
type BinaryKind = 'arith' | 'float' | 'compare';

/**
 * Runs a binary kernel: promotes operands to one compute dtype, materialises scalars as 0-d tensors,
 * broadcasts by strides, and writes a fresh output. Not differentiable by itself.
 */
export function binaryForward(
  name: string,
  op: BinaryOp,
  kind: BinaryKind,
  a: Operand,
  b: Operand,
  computeOverride?: DType,
): Tensor {
  const tensors = [a, b].filter(isTensorOperand);
  const device = commonDevice(name, tensors);
  const promoted = resultType([operandInfo(a), operandInfo(b)]);
  const compute = computeOverride ?? (kind === 'float' ? toFloating(promoted) : promoted);
  const backend = requireCompute(name, device, compute);
  // Arithmetic on bools stays boolean, as in PyTorch: + and max are "or", * and min are "and".
  const kernelOp = compute === 'bool' && kind !== 'compare' ? (BOOL_ARITHMETIC[op] ?? op) : op;
  const temps: Tensor[] = [];
  const prep = (x: Operand): Tensor => {
    const t = isTensorOperand(x) ? castTo(x, compute) : scalarTensor(x, compute, device);
    if (t !== x) temps.push(t);
    return t;
  };
  const ta = prep(a);
  const tb = prep(b);
  const shape = broadcastShapes(name, ta.shape, tb.shape);
  const out = emptyTensor(shape, kind === 'compare' ? 'bool' : compute, device);
  backend.binary(kernelOp, broadcastKernel(ta, shape), broadcastKernel(tb, shape), out.kernel);
  for (const t of temps) t.dispose();
  return out;
}

const BOOL_ARITHMETIC: Partial<Record<BinaryOp, BinaryOp>> = {
  add: 'logicalOr',
  maximum: 'logicalOr',
  mul: 'logicalAnd',
  minimum: 'logicalAnd',
};

/** Runs a unary kernel on `x` converted to `compute` (floating ops promote integer inputs). */
export function unaryForward(
  name: string,
  op: UnaryOp,
  x: Tensor,
  compute: DType,
  outDtype: DType = compute,
): Tensor {
  const backend = requireCompute(name, x.device, compute);
  const xc = castTo(x, compute);
  const out = emptyTensor(x.shape, outDtype, x.device);
  backend.unary(op, xc.kernel, out.kernel);
  if (xc !== x) xc.dispose();
  return out;
}

const tensorOrNull = (x: Operand): Tensor | null => (isTensorOperand(x) ? x : null);

/** Sums a gradient down to an operand's shape (undoing broadcasting); null for scalar operands. */
function reduceTo(g: Tensor, x: Operand): Tensor | null {
  return isTensorOperand(x) ? sumTo(g, x.shape) : null;
}

// ------------------------------------------------------------------ arithmetic

export function add(a: Operand, b: Operand, alpha = 1): Tensor {
  const rhs = alpha === 1 ? b : mul(b, alpha);
  const out = binaryForward('add', 'add', 'arith', a, rhs);
  if (rhs !== b && isTensorOperand(rhs)) rhs.dispose();
  return record('AddBackward', out, [tensorOrNull(a), tensorOrNull(b)], (g) => [
    reduceTo(g, a),
    isTensorOperand(b) ? reduceTo(alpha === 1 ? g : mul(g, alpha), b) : null,
  ]);
}

export function sub(a: Operand, b: Operand, alpha = 1): Tensor {
  if (isTensorOperand(a) && a.dtype === 'bool' && isTensorOperand(b) && b.dtype === 'bool') {
    throw new TypeError(
      'sub: subtraction, the `-` operator, with two bool tensors is not supported. Use logicalXor() instead.',
    );
  }
  const rhs = alpha === 1 ? b : mul(b, alpha);
  const out = binaryForward('sub', 'sub', 'arith', a, rhs);
  if (rhs !== b && isTensorOperand(rhs)) rhs.dispose();
  return record('SubBackward', out, [tensorOrNull(a), tensorOrNull(b)], (g) => [
    reduceTo(g, a),
    isTensorOperand(b) ? reduceTo(mul(g, -alpha), b) : null,
  ]);
}

export function mul(a: Operand, b: Operand): Tensor {
  const out = binaryForward('mul', 'mul', 'arith', a, b);
  // A scalar factor needs nothing saved (so `y.mul_(2)` on a graph tensor stays differentiable).
  if (!isTensorOperand(b)) return record('MulBackward', out, [tensorOrNull(a)], (g) => [mul(g, b)]);
  if (!isTensorOperand(a))
    return record('MulBackward', out, [null, b], (g) => [null, reduceTo(mul(g, a), b)]);
  const saved = [a, b].filter(isTensorOperand);
  return record(
    'MulBackward',
    out,
    [tensorOrNull(a), tensorOrNull(b)],
    (g, s) => {
      const [x, y] = unpackOperands(a, b, s);
      return [
        isTensorOperand(a) ? reduceTo(mul(g, y), a) : null,
        isTensorOperand(b) ? reduceTo(mul(g, x), b) : null,
      ];
    },
    { save: saved },
  );
}

/** Restores (a, b) from saved tensors, with scalar operands passed through. */
function unpackOperands(a: Operand, b: Operand, saved: readonly Tensor[]): [Operand, Operand] {
  let i = 0;
  const x = isTensorOperand(a) ? saved[i++] : a;
  const y = isTensorOperand(b) ? saved[i++] : b;
  return [x, y];
}

/** True division: integer inputs give a floating result, as in PyTorch. */
export function div(a: Operand, b: Operand): Tensor {
  const out = binaryForward('div', 'div', 'float', a, b);
  if (!isTensorOperand(b)) return record('DivBackward', out, [tensorOrNull(a)], (g) => [div(g, b)]);
  return record(
    'DivBackward',
    out,
    [tensorOrNull(a), tensorOrNull(b)],
    (g, s) => {
      const [x, y] = unpackOperands(a, b, s);
      const ga = isTensorOperand(a) ? reduceTo(div(g, y), a) : null;
      // d(x/y)/dy = -x / y^2
      const gb = isTensorOperand(b) ? reduceTo(neg(div(mul(g, x), mul(y, y))), b) : null;
      return [ga, gb];
    },
    { save: [a, b].filter(isTensorOperand) },
  );
}

export function pow(a: Operand, b: Operand): Tensor {
  if (isTensorOperand(a) && !isFloating(a.dtype) && typeof b === 'number' && Number.isInteger(b) && b < 0) {
    throw new RangeError('pow: Integers to negative integer powers are not allowed.');
  }
  const out = binaryForward('pow', 'pow', 'arith', a, b);
  if (!isTensorOperand(b)) {
    // A JS-number exponent stays a double in the rule (y - 1 computed in JS, not as a float32 tensor).
    const y = Number(b);
    return record(
      'PowBackward',
      out,
      [tensorOrNull(a)],
      (g, [x]) => [y === 0 ? zerosLike(g) : mul(mul(g, y), pow(x, y - 1))],
      {
        save: isTensorOperand(a) ? [a] : [],
      },
    );
  }
  return record(
    'PowBackward',
    out,
    [tensorOrNull(a), b],
    (g, s, result) => {
      const [x, y] = unpackOperands(a, b, s);
      // d(x^y)/dx = y * x^(y-1); PyTorch masks the y == 0 case to 0.
      const ga = isTensorOperand(a)
        ? reduceTo(where(eq(y, 0), 0, mul(mul(g, y), pow(x, sub(y, 1)))), a)
        : null;
      // d(x^y)/dy = x^y * log(x), defined as 0 where x == 0 and y >= 0.
      const logX = isTensorOperand(x) ? log(x) : Math.log(Number(x));
      // A JS-number base builds its mask in JS, so nothing lands on the default device.
      const zeroBase = isTensorOperand(x)
        ? logicalAnd(eq(x, 0), ge(y, 0))
        : Number(x) === 0
          ? ge(y, 0)
          : null;
      const full = mul(mul(g, result!), logX);
      const gb = reduceTo(zeroBase ? where(zeroBase, 0, full) : full, b);
      return [ga, gb];
    },
    { save: [a, b].filter(isTensorOperand), saveOutput: true },
  );
}

export function remainder(a: Operand, b: Operand): Tensor {
  const out = binaryForward('remainder', 'remainder', 'arith', a, b);
  return record(
    'RemainderBackward',
    out,
    [tensorOrNull(a), tensorOrNull(b)],
    (g, s) => {
      const [x, y] = unpackOperands(a, b, s);
      return [reduceTo(g, a), isTensorOperand(b) ? reduceTo(neg(mul(g, floorDivide(x, y))), b) : null];
    },
    { save: [a, b].filter(isTensorOperand) },
  );
}

/** Floor division (rounds toward -inf). Not differentiable, as in PyTorch. */
export function floorDivide(a: Operand, b: Operand): Tensor {
  return binaryForward('floorDivide', 'floorDivide', 'arith', a, b);
}

export function atan2(a: Operand, b: Operand): Tensor {
  const out = binaryForward('atan2', 'atan2', 'float', a, b);
  return record(
    'Atan2Backward',
    out,
    [tensorOrNull(a), tensorOrNull(b)],
    (g, s) => {
      const [x, y] = unpackOperands(a, b, s);
      const denom = add(mul(x, x), mul(y, y));
      return [
        isTensorOperand(a) ? reduceTo(div(mul(g, y), denom), a) : null,
        isTensorOperand(b) ? reduceTo(neg(div(mul(g, x), denom)), b) : null,
      ];
    },
    { save: [a, b].filter(isTensorOperand) },
  );
}

/** maximum/minimum: the gradient goes to the larger (smaller) operand and is split evenly on ties. */
function extremum(name: 'maximum' | 'minimum', a: Operand, b: Operand): Tensor {
  const out = binaryForward(name, name, 'arith', a, b);
  return record(
    name === 'maximum' ? 'MaximumBackward' : 'MinimumBackward',
    out,
    [tensorOrNull(a), tensorOrNull(b)],
    (g, s) => {
      const [x, y] = unpackOperands(a, b, s);
      const half = mul(g, 0.5);
      const aWins = name === 'maximum' ? gt(x, y) : lt(x, y);
      const tie = eq(x, y);
      const ga = where(aWins, g, where(tie, half, 0));
      const gb = where(aWins, 0, where(tie, half, g));
      return [reduceTo(ga, a), reduceTo(gb, b)];
    },
    { save: [a, b].filter(isTensorOperand) },
  );
}

export function maximum(a: Operand, b: Operand): Tensor {
  return extremum('maximum', a, b);
}

export function minimum(a: Operand, b: Operand): Tensor {
  return extremum('minimum', a, b);
}

/** clamp(min?, max?): gradient flows where min <= x <= max, as in PyTorch. */
export function clamp(x: Tensor, min?: number | Tensor | null, max?: number | Tensor | null): Tensor {
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new Error('clamp: at least one of min or max must not be None');
  }
  let out = x;
  if (min !== undefined && min !== null) out = maximumNoGrad(out, min);
  if (max !== undefined && max !== null) {
    const next = minimumNoGrad(out, max);
    if (out !== x) out.dispose();
    out = next;
  }
  const lo = min ?? null;
  const hi = max ?? null;
  return record(
    'ClampBackward',
    out,
    [x, typeof lo === 'object' ? lo : null, typeof hi === 'object' ? hi : null],
    (g, s) => {
      const xs = s[0];
      let mask: Tensor | null = null;
      if (lo !== null) mask = ge(xs, lo);
      if (hi !== null) mask = mask ? logicalAnd(mask, le(xs, hi)) : le(xs, hi);
      const gx = where(mask!, g, 0);
      const gLo = typeof lo === 'object' && lo !== null ? reduceTo(where(lt(xs, lo), g, 0), lo) : null;
      const gHi = typeof hi === 'object' && hi !== null ? reduceTo(where(gt(xs, hi), g, 0), hi) : null;
      return [gx, gLo, gHi];
    },
    { save: [x] },
  );
}

function maximumNoGrad(x: Tensor, v: Operand): Tensor {
  return binaryForward('clamp', 'maximum', 'arith', x, v);
}

function minimumNoGrad(x: Tensor, v: Operand): Tensor {
  return binaryForward('clamp', 'minimum', 'arith', x, v);
}

// ------------------------------------------------------------------ comparisons and logic (no gradient)

export const eq = (a: Operand, b: Operand): Tensor => binaryForward('eq', 'eq', 'compare', a, b);
export const ne = (a: Operand, b: Operand): Tensor => binaryForward('ne', 'ne', 'compare', a, b);
export const lt = (a: Operand, b: Operand): Tensor => binaryForward('lt', 'lt', 'compare', a, b);
export const le = (a: Operand, b: Operand): Tensor => binaryForward('le', 'le', 'compare', a, b);
export const gt = (a: Operand, b: Operand): Tensor => binaryForward('gt', 'gt', 'compare', a, b);
export const ge = (a: Operand, b: Operand): Tensor => binaryForward('ge', 'ge', 'compare', a, b);
export const logicalAnd = (a: Operand, b: Operand): Tensor =>
  binaryForward('logicalAnd', 'logicalAnd', 'compare', a, b);
export const logicalOr = (a: Operand, b: Operand): Tensor =>
  binaryForward('logicalOr', 'logicalOr', 'compare', a, b);
export const logicalXor = (a: Operand, b: Operand): Tensor =>
  binaryForward('logicalXor', 'logicalXor', 'compare', a, b);
export const logicalNot = (x: Tensor): Tensor => unaryForward('logicalNot', 'logicalNot', x, x.dtype, 'bool');
export const isnan = (x: Tensor): Tensor => unaryForward('isnan', 'isnan', x, x.dtype, 'bool');

// ------------------------------------------------------------------ unary

/**
 * A unary op: `floating` ops promote integer inputs to float32 (exp, log, ...); the backward rule
 * receives the incoming gradient, the input and the output.
 */
function unary(
  name: string,
  op: UnaryOp,
  x: Tensor,
  floating: boolean,
  backward: ((g: Tensor, x: Tensor, out: Tensor) => Tensor) | null,
  saves: { input?: boolean; output?: boolean },
): Tensor {
  const compute = floating ? toFloating(x.dtype) : x.dtype;
  const out = unaryForward(name, op, x, compute);
  if (!backward || !isFloating(compute)) return out;
  return record(
    `${name[0].toUpperCase()}${name.slice(1)}Backward`,
    out,
    [x],
    (g, saved, output) => [backward(g, saved[0], output!)],
    { save: saves.input ? [x] : [], saveOutput: saves.output },
  );
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const GELU_TANH_CUBIC = 0.044715;

export const neg = (x: Tensor): Tensor => {
  if (x.dtype === 'bool')
    throw new TypeError(
      'neg: negation, the `-` operator, on a bool tensor is not supported. Use logicalNot() instead.',
    );
  return unary('neg', 'neg', x, false, (g) => neg(g), {});
};
export const abs = (x: Tensor): Tensor =>
  unary('abs', 'abs', x, false, (g, xs) => mul(g, sign(xs)), { input: true });
export const exp = (x: Tensor): Tensor =>
  unary('exp', 'exp', x, true, (g, _x, y) => mul(g, y), { output: true });
export const expm1 = (x: Tensor): Tensor =>
  unary('expm1', 'expm1', x, true, (g, _x, y) => mul(g, add(y, 1)), { output: true });
export const log = (x: Tensor): Tensor =>
  unary('log', 'log', x, true, (g, xs) => div(g, xs), { input: true });
export const log1p = (x: Tensor): Tensor =>
  unary('log1p', 'log1p', x, true, (g, xs) => div(g, add(xs, 1)), { input: true });
export const sqrt = (x: Tensor): Tensor =>
  unary('sqrt', 'sqrt', x, true, (g, _x, y) => div(g, mul(y, 2)), { output: true });
export const rsqrt = (x: Tensor): Tensor =>
  unary('rsqrt', 'rsqrt', x, true, (g, _x, y) => mul(mul(g, pow(y, 3)), -0.5), { output: true });
export const square = (x: Tensor): Tensor => mul(x, x);
export const sin = (x: Tensor): Tensor =>
  unary('sin', 'sin', x, true, (g, xs) => mul(g, cos(xs)), { input: true });
export const cos = (x: Tensor): Tensor =>
  unary('cos', 'cos', x, true, (g, xs) => neg(mul(g, sin(xs))), { input: true });
export const tanh = (x: Tensor): Tensor =>
  unary('tanh', 'tanh', x, true, (g, _x, y) => mul(g, sub(1, mul(y, y))), { output: true });
export const sigmoid = (x: Tensor): Tensor =>
  unary('sigmoid', 'sigmoid', x, true, (g, _x, y) => mul(g, mul(y, sub(1, y))), { output: true });
export const relu = (x: Tensor): Tensor =>
  unary('relu', 'relu', x, false, (g, _x, y) => reluBackward(g, y), { output: true });

/**
 * g where y > 0, else 0: ReLU's backward from its output in one kernel (torch's threshold_backward)
 * instead of a comparison into a mask and a select. Differentiable in g (for gradients of
 * gradients); y only selects.
 */
export function reluBackward(g: Tensor, y: Tensor): Tensor {
  const out = binaryForward('relu', 'reluBackward', 'arith', g, y);
  return record('ReluBackwardBackward', out, [g, null], (gg, [ys]) => [reduceTo(reluBackward(gg, ys), g)], {
    save: [y],
  });
}
export const erf = (x: Tensor): Tensor =>
  unary('erf', 'erf', x, true, (g, xs) => mul(g, mul(exp(neg(mul(xs, xs))), 2 / Math.sqrt(Math.PI))), {
    input: true,
  });
export const silu = (x: Tensor): Tensor =>
  unary(
    'silu',
    'silu',
    x,
    true,
    (g, xs) => {
      const s = sigmoid(xs);
      return mul(g, mul(s, add(1, mul(xs, sub(1, s)))));
    },
    { input: true },
  );

/** GELU: exact (erf) by default, or PyTorch's tanh approximation (GPT-2's "gelu_new"). */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  return unary(
    'gelu',
    approximate === 'tanh' ? 'geluTanh' : 'gelu',
    x,
    true,
    (g, xs) => geluBackward(g, xs, approximate),
    { input: true },
  );
}

/**
 * g * gelu'(x) in one kernel (PyTorch's gelu_backward): gelu'(x) = Phi(x) + x phi(x) exactly, and
 * 0.5(1 + t) + 0.5x(1 - t^2)u' with t = tanh(u), u = sqrt(2/pi)(x + 0.044715x^3) for the tanh form.
 * Differentiable in both operands (for gradients of gradients), with the second derivative written
 * in ops: gelu''(x) = phi(x)(2 - x^2), and (1 - t^2)(u' - x t u'^2 + 0.5x u'') for the tanh form.
 */
export function geluBackward(g: Operand, x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  const op = approximate === 'tanh' ? 'geluTanhBackward' : 'geluBackward';
  const out = binaryForward('gelu', op, 'float', g, x);
  return record(
    'GeluBackwardBackward',
    out,
    [tensorOrNull(g), x],
    (gg, s) => {
      const [gs, xs] = unpackOperands(g, x, s) as [Operand, Tensor];
      return [
        isTensorOperand(g) ? reduceTo(geluBackward(gg, xs, approximate), g) : null,
        reduceTo(mul(mul(gg, gs), geluSecondDerivative(xs, approximate)), x),
      ];
    },
    { save: [g, x].filter(isTensorOperand) },
  );
}

function geluSecondDerivative(x: Tensor, approximate: 'none' | 'tanh'): Tensor {
  const x2 = mul(x, x);
  if (approximate !== 'tanh') return mul(mul(exp(mul(x2, -0.5)), INV_SQRT_2PI), sub(2, x2));
  const t = tanh(mul(add(x, mul(mul(x2, x), GELU_TANH_CUBIC)), SQRT_2_OVER_PI));
  const du = mul(add(mul(x2, 3 * GELU_TANH_CUBIC), 1), SQRT_2_OVER_PI);
  const d2u = mul(x, 6 * GELU_TANH_CUBIC * SQRT_2_OVER_PI);
  const inner = add(sub(du, mul(mul(x, t), mul(du, du))), mul(x, mul(d2u, 0.5)));
  return mul(sub(1, mul(t, t)), inner);
}

// Piecewise-constant ops have zero gradient (PyTorch returns zeros, not None).
const zeroGrad = (g: Tensor): Tensor => zerosLike(g);
export const sign = (x: Tensor): Tensor => unary('sign', 'sign', x, false, zeroGrad, {});
export const floor = (x: Tensor): Tensor => unary('floor', 'floor', x, false, zeroGrad, {});
export const ceil = (x: Tensor): Tensor => unary('ceil', 'ceil', x, false, zeroGrad, {});
export const round = (x: Tensor): Tensor => unary('round', 'round', x, false, zeroGrad, {});
export const trunc = (x: Tensor): Tensor => unary('trunc', 'trunc', x, false, zeroGrad, {});
export const reciprocal = (x: Tensor): Tensor =>
  unary('reciprocal', 'reciprocal', x, true, (g, _x, y) => neg(mul(g, mul(y, y))), { output: true });

// ------------------------------------------------------------------ selection

/** where(cond, a, b): a where cond is true, else b; broadcasting all three. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  if (cond.dtype !== 'bool')
    throw new TypeError(
      `where: expected condition to be a boolean tensor, but got a tensor with dtype ${cond.dtype}`,
    );
  const device = commonDevice('where', [cond, ...[a, b].filter(isTensorOperand)]);
  const dtype = resultType([operandInfo(a), operandInfo(b)]);
  const backend = requireCompute('where', device, dtype);
  const temps: Tensor[] = [];
  const prep = (x: Operand): Tensor => {
    const t = isTensorOperand(x) ? castTo(x, dtype) : scalarTensor(x, dtype, device);
    if (t !== x) temps.push(t);
    return t;
  };
  const ta = prep(a);
  const tb = prep(b);
  const shape = broadcastShapes('where', cond.shape, ta.shape, tb.shape);
  const out = emptyTensor(shape, dtype, device);
  backend.where(
    broadcastKernel(cond, shape),
    broadcastKernel(ta, shape),
    broadcastKernel(tb, shape),
    out.kernel,
  );
  for (const t of temps) t.dispose();
  return record(
    'WhereBackward',
    out,
    [tensorOrNull(a), tensorOrNull(b)],
    (g, s) => [reduceTo(where(s[0], g, 0), a), reduceTo(where(s[0], 0, g), b)],
    { save: [cond] },
  );
}

/** maskedFill(mask, value): `value` where mask is true; keeps x's dtype. */
export function maskedFill(x: Tensor, mask: Tensor, value: Operand): Tensor {
  return composite(() => maskedFillImpl(x, mask, value));
}

function maskedFillImpl(x: Tensor, mask: Tensor, value: Operand): Tensor {
  if (mask.dtype !== 'bool')
    throw new TypeError(`maskedFill: expected mask to be a boolean tensor, got ${mask.dtype}`);
  if (isTensorOperand(value) && value.ndim !== 0) {
    throw new Error(
      `maskedFill: only supports a 0-dimensional value tensor, but got tensor with ${value.ndim} dimension(s)`,
    );
  }
  broadcastShapes('maskedFill', x.shape, mask.shape);
  const v = isTensorOperand(value) ? value.to(x.dtype) : value;
  const out = where(mask, v, x);
  if (!isTensorOperand(value) && out.dtype !== x.dtype) {
    const cast = out.to(x.dtype);
    out.dispose();
    return cast;
  }
  return out;
}

/** lerp(start, end, weight) = start + weight * (end - start). */
export function lerp(start: Tensor, end: Tensor, weight: Operand): Tensor {
  return composite(() => lerpImpl(start, end, weight));
}

function lerpImpl(start: Tensor, end: Tensor, weight: Operand): Tensor {
  return add(start, mul(weight, sub(end, start)));
}
