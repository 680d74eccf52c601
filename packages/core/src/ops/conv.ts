// Convolution and pooling (torch.nn.functional semantics): conv1d, conv2d, convTranspose2d,
// maxPool2d, avgPool2d, adaptiveAvgPool2d.
//
// Three internal ops wrap the three conv kernels, and each one's backward rule is written with the
// other two, so gradients of any order flow on every backend:
//   y  = convForward(x, w)          dx = convInputGrad(g, w)     dw = convWeightGrad(x, g)
//   dx = convInputGrad(g, w)        dg = convForward(G, w)       dw = convWeightGrad(G, g)
//   dw = convWeightGrad(x, g)       dx = convInputGrad(g, G)     dg = convForward(x, G)
// (G the gradient arriving at the op's output). Kernels are only ever called with the output
// shape the forward formula gives for their input, so backends may derive it themselves;
// asymmetric padding ('same' with an even dilated kernel) is an explicit zero pad of the input on
// the right/bottom before a symmetric conv, as PyTorch does (aten _convolution_mode).
import { record } from '../autograd/record.js';
import type { Conv2dParams, Pool2dParams } from '../backend/kernels.js';
import { backendOf, commonDevice, emptyTensor, requireCompute } from '../dispatch/dispatch.js';
import { DEFAULT_INT, isFloating } from '../dtype/dtype.js';
import { formatShape } from '../shape/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { fromHost, zeros } from './creation.js';
import { add, mul } from './elementwise.js';
import { gather } from './indexing.js';
import { matmul } from './linalg.js';
import type { ValuesIndices } from './reduction.js';
import { cat, flatten, reshape, squeeze, unsqueeze } from './shape.js';

/** A size given once for both spatial dims, or as [height, width]. */
export type Size2 = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: Size2;
  /** Zero padding on both sides, or 'valid' (none) or 'same' (output size = input size; stride 1). */
  padding?: Size2 | 'same' | 'valid';
  dilation?: Size2;
  groups?: number;
}

export interface Conv1dOptions {
  stride?: number | readonly [number];
  padding?: number | readonly [number] | 'same' | 'valid';
  dilation?: number | readonly [number];
  groups?: number;
}

export interface ConvTranspose2dOptions {
  stride?: Size2;
  /** The padding of the conv2d this op is the gradient of: trims that much from each side of the output. */
  padding?: Size2;
  /** Extra rows/columns on the bottom/right of the output (must be < stride or < dilation). */
  outputPadding?: Size2;
  groups?: number;
  dilation?: Size2;
}

export interface MaxPool2dOptions {
  kernelSize: Size2;
  /** Defaults to kernelSize. */
  stride?: Size2 | null;
  padding?: Size2;
  dilation?: Size2;
  ceilMode?: boolean;
  /** Also return the argmax of each window as a flat int32 index into its H*W input plane. */
  returnIndices?: boolean;
}

export interface AvgPool2dOptions {
  kernelSize: Size2;
  /** Defaults to kernelSize. */
  stride?: Size2 | null;
  padding?: Size2;
  ceilMode?: boolean;
  /** Divide by the whole window including zero padding (default true) or only its in-bounds part. */
  countIncludePad?: boolean;
  /** Divide every window by this number instead. */
  divisorOverride?: number | null;
}

type Pair = [number, number];

// ---------------------------------------------------------------- argument checks

function toPair(op: string, name: string, v: number | readonly number[], dims: 1 | 2): Pair {
  const arr = typeof v === 'number' ? new Array<number>(dims).fill(v) : [...v];
  if (arr.length !== dims || !arr.every(Number.isInteger)) {
    throw new TypeError(
      `${op}: ${name} must be an integer or a list of ${dims} integers, but got ${JSON.stringify(v)}`,
    );
  }
  return dims === 1 ? [1, arr[0]] : [arr[0], arr[1]];
}

function requireFloat(op: string, tensors: readonly (Tensor | null | undefined)[]): void {
  const ref = tensors[0]!;
  if (!isFloating(ref.dtype))
    throw new TypeError(`${op}: expected a floating-point input, but got ${ref.dtype}`);
  for (const t of tensors) {
    if (t && t.dtype !== ref.dtype) {
      throw new TypeError(
        `${op}: expected input, weight and bias to have the same dtype, but got ${ref.dtype} and ${t.dtype}`,
      );
    }
  }
}

function requirePositive(op: string, name: string, p: Pair): void {
  if (p[0] <= 0 || p[1] <= 0)
    throw new RangeError(`${op}: non-positive ${name} is not supported (got ${formatShape(p)})`);
}

function requireNonNegative(op: string, name: string, p: Pair): void {
  if (p[0] < 0 || p[1] < 0)
    throw new RangeError(`${op}: negative ${name} is not supported (got ${formatShape(p)})`);
}

/** PyTorch's conv output size: floor((in + 2p - d(k-1) - 1) / s) + 1. */
function convOutputSize(
  size: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** `x` with `amount` zeros appended along `dim` (differentiable). */
function padEnd(x: Tensor, dim: number, amount: number): Tensor {
  if (amount === 0) return x;
  const shape = [...x.shape];
  shape[dim] = amount;
  const z = zeros(shape, { dtype: x.dtype, device: x.device });
  const out = cat([x, z], dim);
  z.dispose();
  return out;
}

/** Adds a bias per channel (dim 1) of a [N, C, ...] tensor; disposes `out` when it adds. */
function addBias(out: Tensor, bias: Tensor | null | undefined): Tensor {
  if (!bias) return out;
  const b = reshape(bias, [1, bias.shape[0], ...new Array<number>(out.ndim - 2).fill(1)]);
  const r = add(out, b);
  out.dispose();
  b.dispose();
  return r;
}

/** Runs `body` on `x` with a batch dim added when `x` is unbatched ([C, ...]), then removes it. */
function withBatch(x: Tensor, batchedRank: number, body: (xb: Tensor) => Tensor): Tensor {
  if (x.ndim === batchedRank) return body(x);
  const xb = unsqueeze(x, 0);
  const out = body(xb);
  xb.dispose();
  const r = squeeze(out, 0);
  out.dispose();
  return r;
}

// ---------------------------------------------------------------- internal conv ops

function convForward(x: Tensor, w: Tensor, p: Conv2dParams): Tensor {
  const [n, , h, wd] = x.shape;
  const [o, , kh, kw] = w.shape;
  const shape = [
    n,
    o,
    convOutputSize(h, kh, p.stride[0], p.padding[0], p.dilation[0]),
    convOutputSize(wd, kw, p.stride[1], p.padding[1], p.dilation[1]),
  ];
  const out = emptyTensor(shape, x.dtype, x.device);
  backendOf(x).conv2d(x.kernel, w.kernel, out.kernel, p);
  const [needX, needW] = [x.requiresGrad, w.requiresGrad];
  return record(
    'Conv2dBackward',
    out,
    [x, w],
    (g, [xs, ws]) => [
      needX ? convInputGrad(g, ws, xs.shape, p) : null,
      needW ? convWeightGrad(xs, g, ws.shape, p) : null,
    ],
    { save: [x, w] },
  );
}

/** The gradient of convForward w.r.t. its input of `inputShape` (also: the transposed convolution). */
function convInputGrad(g: Tensor, w: Tensor, inputShape: readonly number[], p: Conv2dParams): Tensor {
  const out = emptyTensor(inputShape, g.dtype, g.device);
  backendOf(g).conv2dBackwardInput(g.kernel, w.kernel, out.kernel, p);
  const [needG, needW] = [g.requiresGrad, w.requiresGrad];
  return record(
    'Conv2dInputGradBackward',
    out,
    [g, w],
    (gg, [gs, ws]) => [
      needG ? convForward(gg, ws, p) : null,
      needW ? convWeightGrad(gg, gs, ws.shape, p) : null,
    ],
    { save: [g, w] },
  );
}

function convWeightGrad(x: Tensor, g: Tensor, weightShape: readonly number[], p: Conv2dParams): Tensor {
  const out = emptyTensor(weightShape, g.dtype, g.device);
  backendOf(g).conv2dBackwardWeight(x.kernel, g.kernel, out.kernel, p);
  const [needX, needG] = [x.requiresGrad, g.requiresGrad];
  return record(
    'Conv2dWeightGradBackward',
    out,
    [x, g],
    (gg, [xs, gs]) => [
      needX ? convInputGrad(gs, gg, xs.shape, p) : null,
      needG ? convForward(xs, gg, p) : null,
    ],
    { save: [x, g] },
  );
}

// ---------------------------------------------------------------- convolutions

/** Shared checks of conv1d/conv2d/convTranspose2d; `spatial` is the number of spatial dims. */
function checkConv(
  op: string,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  spatial: 1 | 2,
  groups: number,
  transposed: boolean,
): void {
  const batched = spatial + 2;
  if (x.ndim !== batched && x.ndim !== batched - 1) {
    throw new Error(
      `${op}: Expected ${batched - 1}D (unbatched) or ${batched}D (batched) input to ${op}, but got input of size: ${formatShape(x.shape)}`,
    );
  }
  if (weight.ndim !== batched) {
    const layout = transposed ? 'in_channels, out_channels/groups' : 'out_channels, in_channels/groups';
    throw new Error(
      `${op}: expected weight to be ${batched}-dimensional [${layout}, ...kernel], but got weight of size ${formatShape(weight.shape)}`,
    );
  }
  requireFloat(op, [x, weight, bias]);
  if (!Number.isInteger(groups) || groups <= 0)
    throw new RangeError(`${op}: non-positive groups is not supported (got ${groups})`);
  if (weight.shape[0] % groups !== 0) {
    throw new Error(
      `${op}: Given groups=${groups}, expected weight to be divisible by ${groups} at dimension 0, but got weight of size ${formatShape(weight.shape)} instead`,
    );
  }
  const channels = x.shape[x.ndim - spatial - 1];
  const expected = transposed ? weight.shape[0] : weight.shape[1] * groups;
  if (channels !== expected) {
    const given = transposed
      ? `Given transposed=1, weight of size ${formatShape(weight.shape)}`
      : `Given groups=${groups}, weight of size ${formatShape(weight.shape)}`;
    throw new Error(
      `${op}: ${given}, expected input${formatShape(x.shape)} to have ${expected} channels, but got ${channels} channels instead`,
    );
  }
  const outChannels = transposed ? weight.shape[1] * groups : weight.shape[0];
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outChannels)) {
    throw new Error(
      `${op}: Given weight of size ${formatShape(weight.shape)}, expected bias to be 1-dimensional with ${outChannels} elements, but got bias of size ${formatShape(bias.shape)} instead`,
    );
  }
}

/** conv2d on checked, batched 4-D operands with resolved parameters; `spatial` shapes the error text. */
function conv2dChecked(
  op: string,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null | undefined,
  stride: Pair,
  padding: Pair | 'same' | 'valid',
  dilation: Pair,
  groups: number,
  spatial: 1 | 2,
): Tensor {
  requirePositive(op, 'stride', stride);
  requirePositive(op, 'dilation', dilation);
  const kernel: Pair = [weight.shape[2], weight.shape[3]];
  const span: Pair = [dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)];
  let pad: Pair;
  // 'same' pads span/2 on the left/top and the rest on the right/bottom (PyTorch puts the odd one there).
  let extra: Pair = [0, 0];
  if (padding === 'same') {
    if (stride[0] !== 1 || stride[1] !== 1)
      throw new Error(`${op}: padding='same' is not supported for strided convolutions`);
    pad = [Math.floor(span[0] / 2), Math.floor(span[1] / 2)];
    extra = [span[0] % 2, span[1] % 2];
  } else if (padding === 'valid') {
    pad = [0, 0];
  } else {
    pad = padding;
    requireNonNegative(op, 'padding', pad);
  }
  const [, , h, w] = x.shape;
  const padded: Pair = [h + 2 * pad[0] + extra[0], w + 2 * pad[1] + extra[1]];
  if (padded[0] < span[0] + 1 || padded[1] < span[1] + 1) {
    const dims = (p: Pair) => (spatial === 1 ? `(${p[1]})` : `(${p[0]} x ${p[1]})`);
    const outSize: Pair = [padded[0] - span[0], padded[1] - span[1]].map(
      (s, i) => Math.floor((s - 1) / stride[i]) + 1,
    ) as Pair;
    throw new Error(
      `${op}: Calculated output size ${dims(outSize)} is too small: padded input size per channel ${dims(padded)} is smaller than the ` +
        `dilated kernel size ${dims([span[0] + 1, span[1] + 1])}`,
    );
  }
  const device = commonDevice(op, [x, weight, bias]);
  requireCompute(op, device, x.dtype);
  const padH = padEnd(x, 2, extra[0]);
  const xin = padEnd(padH, 3, extra[1]);
  const out = convForward(xin, weight, { stride, padding: pad, dilation, groups });
  if (padH !== x) padH.dispose();
  if (xin !== padH) xin.dispose();
  return addBias(out, bias);
}

/**
 * torch.nn.functional.conv2d: x [N, C_in, H, W] (or unbatched [C_in, H, W]), weight
 * [C_out, C_in/groups, kH, kW], optional bias [C_out].
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const groups = opts.groups ?? 1;
  checkConv(op, x, weight, bias, 2, groups, false);
  const stride = toPair(op, 'stride', opts.stride ?? 1, 2);
  const dilation = toPair(op, 'dilation', opts.dilation ?? 1, 2);
  const padding = paddingArg(op, opts.padding ?? 0, 2);
  return withBatch(x, 4, (xb) => conv2dChecked(op, xb, weight, bias, stride, padding, dilation, groups, 2));
}

function paddingArg(
  op: string,
  padding: number | readonly number[] | string,
  dims: 1 | 2,
): Pair | 'same' | 'valid' {
  if (typeof padding === 'string') {
    if (padding !== 'same' && padding !== 'valid')
      throw new Error(`${op}: Invalid padding string '${padding}', should be one of {'valid', 'same'}`);
    return padding;
  }
  const p = toPair(op, 'padding', padding, dims);
  return dims === 1 ? [0, p[1]] : p;
}

/**
 * torch.nn.functional.conv1d: x [N, C_in, L] (or [C_in, L]), weight [C_out, C_in/groups, k]; runs
 * as conv2d over a height-1 image.
 */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv1dOptions = {}): Tensor {
  const op = 'conv1d';
  const groups = opts.groups ?? 1;
  checkConv(op, x, weight, bias, 1, groups, false);
  const stride = toPair(op, 'stride', opts.stride ?? 1, 1);
  const dilation = toPair(op, 'dilation', opts.dilation ?? 1, 1);
  const padding = paddingArg(op, opts.padding ?? 0, 1);
  return withBatch(x, 3, (xb) => {
    const x4 = unsqueeze(xb, 2);
    const w4 = unsqueeze(weight, 2);
    const out = conv2dChecked(op, x4, w4, bias, stride, padding, dilation, groups, 1);
    const r = squeeze(out, 2);
    for (const t of [x4, w4, out]) t.dispose();
    return r;
  });
}

/**
 * torch.nn.functional.conv_transpose2d: x [N, C_in, H, W] (or unbatched), weight
 * [C_in, C_out/groups, kH, kW], optional bias [C_out]. Output size per dim:
 * (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1.
 */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  opts: ConvTranspose2dOptions = {},
): Tensor {
  const op = 'convTranspose2d';
  const groups = opts.groups ?? 1;
  checkConv(op, x, weight, bias, 2, groups, true);
  const stride = toPair(op, 'stride', opts.stride ?? 1, 2);
  const padding = toPair(op, 'padding', opts.padding ?? 0, 2);
  const dilation = toPair(op, 'dilation', opts.dilation ?? 1, 2);
  const outputPadding = toPair(op, 'outputPadding', opts.outputPadding ?? 0, 2);
  requirePositive(op, 'stride', stride);
  requirePositive(op, 'dilation', dilation);
  requireNonNegative(op, 'padding', padding);
  requireNonNegative(op, 'outputPadding', outputPadding);
  for (const i of [0, 1]) {
    if (outputPadding[i] >= stride[i] && outputPadding[i] >= dilation[i]) {
      throw new Error(
        `${op}: output padding must be smaller than either stride or dilation, but got outputPadding: ${formatShape(outputPadding)}, ` +
          `stride: ${formatShape(stride)}, dilation: ${formatShape(dilation)}`,
      );
    }
  }
  const device = commonDevice(op, [x, weight, bias]);
  requireCompute(op, device, x.dtype);
  return withBatch(x, 4, (xb) => {
    const [n, , h, w] = xb.shape;
    const kernel: Pair = [weight.shape[2], weight.shape[3]];
    const outSize = [h, w].map(
      (s, i) => (s - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + outputPadding[i] + 1,
    );
    if (outSize[0] < 1 || outSize[1] < 1) {
      throw new Error(
        `${op}: Given input size per channel: (${h} x ${w}). Calculated output size per channel: (${outSize[0]} x ${outSize[1]}). Output size is too small`,
      );
    }
    // Seen as a conv2d from the output back to the input, the output (with outputPadding >= stride,
    // possible when dilation is larger) maps to more positions than the input has: those extra
    // positions carry zero gradient, so pad the input with zeros to keep kernel shapes consistent.
    const p: Conv2dParams = { stride, padding, dilation, groups };
    const extra = outSize.map(
      (s, i) => convOutputSize(s, kernel[i], stride[i], padding[i], dilation[i]) - [h, w][i],
    );
    const padH = padEnd(xb, 2, extra[0]);
    const xin = padEnd(padH, 3, extra[1]);
    const out = convInputGrad(xin, weight, [n, weight.shape[1] * groups, outSize[0], outSize[1]], p);
    if (padH !== xb) padH.dispose();
    if (xin !== padH) xin.dispose();
    return addBias(out, bias);
  });
}

// ---------------------------------------------------------------- pooling

/**
 * PyTorch's pooling output size (aten pooling_output_shape): with ceilMode the division rounds up,
 * but the last window must start inside the input or the left padding.
 */
function poolOutputSize(
  size: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
  ceilMode: boolean,
): number {
  const span = size + 2 * padding - dilation * (kernel - 1) - 1;
  let out = Math.floor((span + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + padding) out--;
  return out;
}

interface PoolSetup {
  params: Pool2dParams;
  outSize: Pair;
}

function poolSetup(
  op: string,
  x: Tensor,
  kernelSize: Size2,
  strideArg: Size2 | null | undefined,
  paddingArg: Size2 | undefined,
  dilationArg: Size2 | undefined,
  ceilMode: boolean,
  countIncludePad: boolean,
): PoolSetup {
  if ((x.ndim !== 3 && x.ndim !== 4) || x.shape.slice(-3).some((s) => s === 0)) {
    throw new Error(
      `${op}: non-empty 3D or 4D (batch mode) tensor expected for input, but got input of size: ${formatShape(x.shape)}`,
    );
  }
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: expected a floating-point input, but got ${x.dtype}`);
  const kernel = toPair(op, 'kernelSize', kernelSize, 2);
  const stride = strideArg == null ? kernel : toPair(op, 'stride', strideArg, 2);
  const padding = toPair(op, 'padding', paddingArg ?? 0, 2);
  const dilation = toPair(op, 'dilation', dilationArg ?? 1, 2);
  if (kernel[0] <= 0 || kernel[1] <= 0)
    throw new RangeError(
      `${op}: kernel size should be greater than zero, but got kernelSize: ${formatShape(kernel)}`,
    );
  if (stride[0] <= 0 || stride[1] <= 0)
    throw new RangeError(`${op}: stride should be greater than zero, but got stride: ${formatShape(stride)}`);
  if (dilation[0] <= 0 || dilation[1] <= 0)
    throw new RangeError(
      `${op}: dilation should be greater than zero, but got dilation: ${formatShape(dilation)}`,
    );
  requireNonNegative(op, 'padding', padding);
  if (padding[0] > Math.floor(kernel[0] / 2) || padding[1] > Math.floor(kernel[1] / 2)) {
    throw new RangeError(
      `${op}: pad should be smaller than or equal to half of kernel size, but got padding: ${formatShape(padding)} and kernelSize: ${formatShape(kernel)}`,
    );
  }
  const [c, h, w] = x.shape.slice(-3);
  const outSize: Pair = [
    poolOutputSize(h, kernel[0], stride[0], padding[0], dilation[0], ceilMode),
    poolOutputSize(w, kernel[1], stride[1], padding[1], dilation[1], ceilMode),
  ];
  if (outSize[0] < 1 || outSize[1] < 1) {
    throw new Error(
      `${op}: Given input size: (${c}x${h}x${w}). Calculated output size: (${c}x${outSize[0]}x${outSize[1]}). Output size is too small`,
    );
  }
  requireCompute(op, x.device, x.dtype);
  return { params: { kernelSize: kernel, stride, padding, dilation, countIncludePad }, outSize };
}

function maxPoolForward(x: Tensor, outSize: Pair, p: Pool2dParams): ValuesIndices {
  const shape = [x.shape[0], x.shape[1], ...outSize];
  const values = emptyTensor(shape, x.dtype, x.device);
  const indices = emptyTensor(shape, DEFAULT_INT, x.device);
  backendOf(x).maxPool2d(x.kernel, values.kernel, indices.kernel, p);
  const inShape = x.shape;
  record('MaxPool2dBackward', values, [x], (g, [idx]) => [maxPoolInputGrad(g, idx, inShape, p)], {
    save: [indices],
  });
  return { values, indices };
}

/** Routes each window's gradient to its argmax; its own gradient gathers at the same indices. */
function maxPoolInputGrad(
  g: Tensor,
  indices: Tensor,
  inputShape: readonly number[],
  p: Pool2dParams,
): Tensor {
  const out = emptyTensor(inputShape, g.dtype, g.device);
  backendOf(g).maxPool2dBackward(g.kernel, indices.kernel, out.kernel, p);
  return record(
    'MaxPool2dInputGradBackward',
    out,
    [g],
    (gg, [idx]) => {
      const planes = flatten(gg, 2);
      const flatIdx = flatten(idx, 2);
      const picked = gather(planes, 2, flatIdx);
      const r = reshape(picked, idx.shape);
      for (const t of [planes, flatIdx, picked]) if (t !== r) t.dispose();
      return [r];
    },
    { save: [indices] },
  );
}

function avgPoolForward(x: Tensor, outSize: Pair, p: Pool2dParams): Tensor {
  const out = emptyTensor([x.shape[0], x.shape[1], ...outSize], x.dtype, x.device);
  backendOf(x).avgPool2d(x.kernel, out.kernel, p);
  const inShape = x.shape;
  return record('AvgPool2dBackward', out, [x], (g) => [avgPoolInputGrad(g, inShape, p)]);
}

/** The adjoint of avg pooling; being linear, its own gradient is avg pooling again. */
function avgPoolInputGrad(g: Tensor, inputShape: readonly number[], p: Pool2dParams): Tensor {
  const out = emptyTensor(inputShape, g.dtype, g.device);
  backendOf(g).avgPool2dBackward(g.kernel, out.kernel, p);
  const outSize: Pair = [g.shape[2], g.shape[3]];
  return record('AvgPool2dInputGradBackward', out, [g], (gg) => [avgPoolForward(gg, outSize, p)]);
}

/** torch.nn.functional.max_pool2d over [N, C, H, W] or [C, H, W]. */
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions & { returnIndices: true }): ValuesIndices;
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor | ValuesIndices;
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor | ValuesIndices {
  const op = 'maxPool2d';
  const { params, outSize } = poolSetup(
    op,
    x,
    opts.kernelSize,
    opts.stride,
    opts.padding,
    opts.dilation,
    opts.ceilMode ?? false,
    false,
  );
  if (x.ndim === 4) {
    const r = maxPoolForward(x, outSize, params);
    if (opts.returnIndices) return r;
    r.indices.dispose();
    return r.values;
  }
  const xb = unsqueeze(x, 0);
  const r = maxPoolForward(xb, outSize, params);
  const values = squeeze(r.values, 0);
  const indices = squeeze(r.indices, 0);
  for (const t of [xb, r.values, r.indices]) t.dispose();
  if (opts.returnIndices) return { values, indices };
  indices.dispose();
  return values;
}

/** torch.nn.functional.avg_pool2d over [N, C, H, W] or [C, H, W]. */
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  const op = 'avgPool2d';
  const divisor = opts.divisorOverride ?? null;
  if (divisor !== null && (divisor === 0 || !Number.isFinite(divisor)))
    throw new RangeError(`${op}: divisor must be not zero (got ${divisor})`);
  // With divisorOverride the kernel averages over the padded window and the op rescales each
  // output by (window size / divisor); the window sizes are fixed by the shapes.
  const countIncludePad = divisor === null ? (opts.countIncludePad ?? true) : true;
  const { params, outSize } = poolSetup(
    op,
    x,
    opts.kernelSize,
    opts.stride,
    opts.padding,
    [1, 1],
    opts.ceilMode ?? false,
    countIncludePad,
  );
  return withBatch(x, 4, (xb) => {
    const avg = avgPoolForward(xb, outSize, params);
    if (divisor === null) return avg;
    const scale = windowSizes(xb.shape[2], xb.shape[3], outSize, params, divisor, xb);
    const out = mul(avg, scale);
    avg.dispose();
    scale.dispose();
    return out;
  });
}

/** [outH, outW] tensor of (padded window size / divisor), the divisorOverride rescaling. */
function windowSizes(
  h: number,
  w: number,
  outSize: Pair,
  p: Pool2dParams,
  divisor: number,
  like: Tensor,
): Tensor {
  const axis = (o: number, size: number, i: number) => {
    const start = o * p.stride[i] - p.padding[i];
    return Math.min(start + p.kernelSize[i], size + p.padding[i]) - start;
  };
  const values = new Float64Array(outSize[0] * outSize[1]);
  for (let y = 0; y < outSize[0]; y++) {
    for (let z = 0; z < outSize[1]; z++)
      values[y * outSize[1] + z] = (axis(y, h, 0) * axis(z, w, 1)) / divisor;
  }
  return fromHost(values, outSize, like.dtype, like.device);
}

/**
 * torch.nn.functional.adaptive_avg_pool2d: output cell i of a dim of size `in` averages
 * [floor(i * in / out), ceil((i + 1) * in / out)). `null` keeps that dim's input size. When the
 * sizes divide, that is plain avg pooling; otherwise it is two matmuls with averaging matrices
 * (P_h · x · P_wᵀ), so gradients come from matmul's.
 */
export function adaptiveAvgPool2d(
  x: Tensor,
  outputSize: number | readonly [number | null, number | null],
): Tensor {
  const op = 'adaptiveAvgPool2d';
  if ((x.ndim !== 3 && x.ndim !== 4) || x.shape.slice(-3).some((s) => s === 0)) {
    throw new Error(
      `${op}: Expected 3D or 4D tensor with non-zero sizes for all but the batch dim, but got input of size: ${formatShape(x.shape)}`,
    );
  }
  if (!isFloating(x.dtype)) throw new TypeError(`${op}: expected a floating-point input, but got ${x.dtype}`);
  const [h, w] = x.shape.slice(-2);
  const requested = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  const out: Pair = [requested[0] ?? h, requested[1] ?? w];
  if (!out.every((s) => Number.isInteger(s) && s > 0)) {
    throw new RangeError(
      `${op}: output size must be positive integers, but got ${JSON.stringify(outputSize)}`,
    );
  }
  if (h % out[0] === 0 && w % out[1] === 0) return avgPool2d(x, { kernelSize: [h / out[0], w / out[1]] });
  const rows = averagingMatrix(h, out[0], x);
  const colsT = averagingMatrix(w, out[1], x).transpose(0, 1);
  const left = matmul(rows, x);
  const result = matmul(left, colsT);
  for (const t of [rows, colsT, left]) t.dispose();
  return result;
}

/** [out, size] matrix whose row i averages input cells [floor(i*size/out), ceil((i+1)*size/out)). */
function averagingMatrix(size: number, out: number, like: Tensor): Tensor {
  const m = new Float64Array(out * size);
  for (let i = 0; i < out; i++) {
    const start = Math.floor((i * size) / out);
    const end = Math.ceil(((i + 1) * size) / out);
    for (let j = start; j < end; j++) m[i * size + j] = 1 / (end - start);
  }
  return fromHost(m, [out, size], like.dtype, like.device);
}
