// Loss functions with PyTorch's definitions: class dim 1 for [N, C, d1, ...] inputs, ignore_index,
// label smoothing, class weights, probability targets, and the three reductions.
import * as k from '@kiln/core';

export type Reduction = 'mean' | 'sum' | 'none';

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function reduce(op: string, loss: k.Tensor, reduction: Reduction): k.Tensor {
  switch (reduction) {
    case 'mean':
      return loss.mean();
    case 'sum':
      return loss.sum();
    case 'none':
      return loss;
    default:
      throw new Error(
        `${op}: ${String(reduction)} is not a valid value for reduction (use 'mean', 'sum' or 'none')`,
      );
  }
}

function sameShape(op: string, input: k.Tensor, target: k.Tensor): void {
  if (input.ndim !== target.ndim || input.shape.some((s, i) => s !== target.shape[i])) {
    throw new Error(
      `${op}: input of shape ${shapeText(input.shape)} and target of shape ${shapeText(target.shape)} must have the same shape`,
    );
  }
}

export interface ClassLossOptions {
  /** A manual rescaling weight for each class, shape [C]. */
  weight?: k.Tensor | null;
  /** Targets equal to this index contribute nothing (default -100). */
  ignoreIndex?: number;
  reduction?: Reduction;
}

export interface CrossEntropyOptions extends ClassLossOptions {
  /** Mixes the target with the uniform distribution: (1 - e) * target + e / C. */
  labelSmoothing?: number;
}

/** The class dim (1, or 0 for an unbatched [C] input) and the number of classes. */
function classDim(op: string, input: k.Tensor): { dim: number; classes: number } {
  if (input.ndim === 0) throw new Error(`${op}: input must have at least 1 dimension (got a 0-d tensor)`);
  const dim = input.ndim === 1 ? 0 : 1;
  return { dim, classes: input.shape[dim] };
}

function checkIndexTarget(op: string, input: k.Tensor, target: k.Tensor, dim: number): void {
  if (k.isFloating(target.dtype) || target.dtype === 'bool') {
    throw new TypeError(
      `${op}: expected integer class indices as target (or, for crossEntropy, class probabilities of the input's shape), got ${target.dtype} of shape ${shapeText(target.shape)}`,
    );
  }
  const expected = input.shape.filter((_, i) => i !== dim);
  if (target.ndim !== expected.length || target.shape.some((s, i) => s !== expected[i])) {
    throw new Error(
      `${op}: expected target of shape ${shapeText(expected)} for input of shape ${shapeText(input.shape)}, got ${shapeText(target.shape)}`,
    );
  }
}

function checkWeight(op: string, weight: k.Tensor | null | undefined, classes: number): void {
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== classes)) {
    throw new Error(
      `${op}: weight tensor should be defined either for all ${classes} classes or no classes but got weight tensor of shape: ${shapeText(weight.shape)}`,
    );
  }
}

/** `w` of shape [C] viewed so that it broadcasts along the class dim of an input of rank `ndim`. */
function alongClassDim(w: k.Tensor, dim: number, ndim: number): k.Tensor {
  const shape = new Array<number>(ndim).fill(1);
  shape[dim] = w.shape[0];
  return w.reshape(shape);
}

/**
 * Negative log likelihood of log-probabilities `input` ([N, C, ...] or [C]) at integer `target`.
 * The mean is weighted: sum(w[t_i] * loss_i) / sum(w[t_i]) over non-ignored elements.
 */
export function nllLoss(input: k.Tensor, target: k.Tensor, options: ClassLossOptions = {}): k.Tensor {
  const { weight = null, ignoreIndex = -100, reduction = 'mean' } = options;
  const { dim, classes } = classDim('nllLoss', input);
  checkIndexTarget('nllLoss', input, target, dim);
  checkWeight('nllLoss', weight, classes);
  const keep = target.ne(ignoreIndex);
  const safeTarget = k.where(keep, target, 0);
  const picked = input.gather(dim, safeTarget.unsqueeze(dim)).squeeze(dim);
  let w: k.Tensor = keep.to(input.dtype);
  if (weight) w = w.mul(weight.indexSelect(0, safeTarget.reshape(-1)).reshape(target.shape));
  const loss = picked.neg().mul(w);
  if (reduction === 'mean') return loss.sum().div(w.sum());
  return reduce('nllLoss', loss, reduction);
}

/**
 * Cross entropy between logits `input` ([N, C, d1, ...], [N, C] or [C]) and either integer class
 * indices (shape of input without dim 1) or class probabilities (the input's shape), as
 * torch.nn.functional.cross_entropy computes it, label smoothing included.
 */
export function crossEntropy(input: k.Tensor, target: k.Tensor, options: CrossEntropyOptions = {}): k.Tensor {
  const { weight = null, ignoreIndex = -100, reduction = 'mean', labelSmoothing = 0 } = options;
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
    throw new RangeError(`crossEntropy: labelSmoothing must be between 0.0 and 1.0 (got ${labelSmoothing})`);
  const { dim, classes } = classDim('crossEntropy', input);
  checkWeight('crossEntropy', weight, classes);
  if (!k.isFloating(target.dtype) && weight === null) {
    // The common case is core's per-row op (one fused kernel each way on backends that have it).
    checkIndexTarget('crossEntropy', input, target, dim);
    // Classes last: [N, C, d1, ...] -> [N, d1, ..., C] -> [rows, C].
    const last =
      input.ndim === 1
        ? input.unsqueeze(0)
        : input.permute(0, ...input.shape.slice(2).map((_, i) => i + 2), 1);
    const rows = last.reshape(-1, classes);
    const loss = k.crossEntropyRows(rows, target.reshape(-1), { ignoreIndex, labelSmoothing });
    if (reduction === 'mean') return loss.sum().div(target.ne(ignoreIndex).sum().to(loss.dtype));
    if (reduction === 'sum') return loss.sum();
    return reduce('crossEntropy', loss.reshape(target.shape), reduction);
  }
  const logp = input.logSoftmax(dim);
  if (k.isFloating(target.dtype)) {
    sameShape('crossEntropy', input, target);
    let t = target;
    if (labelSmoothing > 0) t = t.mul(1 - labelSmoothing).add(labelSmoothing / classes);
    let prod = logp.mul(t);
    if (weight) prod = prod.mul(alongClassDim(weight, dim, input.ndim));
    if (reduction === 'mean')
      return prod
        .sum()
        .neg()
        .div(input.numel() / classes);
    if (reduction === 'sum') return prod.sum().neg();
    return reduce('crossEntropy', prod.sum(dim).neg(), reduction);
  }
  checkIndexTarget('crossEntropy', input, target, dim);
  const nll = nllLoss(logp, target, { weight, ignoreIndex, reduction });
  if (labelSmoothing === 0) return nll;
  // PyTorch: (1 - e) * nll + e / C * smooth, smooth = -sum_c w_c log p_c over non-ignored elements,
  // normalised for 'mean' like nll (by the weights of the targets, or the count).
  const keep = target.ne(ignoreIndex);
  const weighted = weight ? logp.mul(alongClassDim(weight, dim, input.ndim)) : logp;
  const smooth = weighted.sum(dim).neg().mul(keep.to(input.dtype));
  let smoothReduced: k.Tensor;
  if (reduction === 'mean') {
    const denom = weight
      ? weight
          .indexSelect(0, k.where(keep, target, 0).reshape(-1))
          .mul(keep.reshape(-1).to(weight.dtype))
          .sum()
      : keep.to(input.dtype).sum();
    smoothReduced = smooth.sum().div(denom);
  } else smoothReduced = reduce('crossEntropy', smooth, reduction);
  return nll.mul(1 - labelSmoothing).add(smoothReduced.mul(labelSmoothing / classes));
}

export interface RegressionLossOptions {
  reduction?: Reduction;
}

export function mseLoss(input: k.Tensor, target: k.Tensor, options: RegressionLossOptions = {}): k.Tensor {
  sameShape('mseLoss', input, target);
  return reduce('mseLoss', input.sub(target).square(), options.reduction ?? 'mean');
}

export function l1Loss(input: k.Tensor, target: k.Tensor, options: RegressionLossOptions = {}): k.Tensor {
  sameShape('l1Loss', input, target);
  return reduce('l1Loss', input.sub(target).abs(), options.reduction ?? 'mean');
}

export interface SmoothL1Options extends RegressionLossOptions {
  beta?: number;
}

/** 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere. */
export function smoothL1Loss(input: k.Tensor, target: k.Tensor, options: SmoothL1Options = {}): k.Tensor {
  sameShape('smoothL1Loss', input, target);
  const beta = options.beta ?? 1;
  const d = input.sub(target).abs();
  const loss = beta === 0 ? d : k.where(d.lt(beta), d.square().mul(0.5 / beta), d.sub(0.5 * beta));
  return reduce('smoothL1Loss', loss, options.reduction ?? 'mean');
}

export interface HuberOptions extends RegressionLossOptions {
  delta?: number;
}

/** 0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere. */
export function huberLoss(input: k.Tensor, target: k.Tensor, options: HuberOptions = {}): k.Tensor {
  sameShape('huberLoss', input, target);
  const delta = options.delta ?? 1;
  const d = input.sub(target).abs();
  const loss = k.where(d.lt(delta), d.square().mul(0.5), d.sub(0.5 * delta).mul(delta));
  return reduce('huberLoss', loss, options.reduction ?? 'mean');
}

export interface BinaryCrossEntropyOptions extends RegressionLossOptions {
  /** Rescales each element's loss (broadcast to the input). */
  weight?: k.Tensor | null;
}

export interface BceWithLogitsOptions extends BinaryCrossEntropyOptions {
  /** Weight of positive examples, broadcast along the last (class) dim. */
  posWeight?: k.Tensor | null;
}

/** -w [t log p + (1 - t) log(1 - p)], with the logs clamped at -100 as PyTorch does. */
export function binaryCrossEntropy(
  input: k.Tensor,
  target: k.Tensor,
  options: BinaryCrossEntropyOptions = {},
): k.Tensor {
  sameShape('binaryCrossEntropy', input, target);
  const logP = input.log().clamp(-100);
  const log1mP = input.neg().log1p().clamp(-100);
  let loss = target.mul(logP).add(target.neg().add(1).mul(log1mP)).neg();
  if (options.weight) loss = loss.mul(options.weight);
  return reduce('binaryCrossEntropy', loss, options.reduction ?? 'mean');
}

/**
 * Sigmoid + binary cross entropy in the stable form PyTorch uses:
 * (1 - t) x + lw (log(1 + exp(-|x|)) + max(-x, 0)), lw = 1 + (posWeight - 1) t.
 */
export function binaryCrossEntropyWithLogits(
  input: k.Tensor,
  target: k.Tensor,
  options: BceWithLogitsOptions = {},
): k.Tensor {
  sameShape('binaryCrossEntropyWithLogits', input, target);
  const softplusNeg = input.abs().neg().exp().log1p().add(input.neg().relu());
  const logWeight = options.posWeight ? options.posWeight.sub(1).mul(target).add(1) : null;
  let loss = target
    .neg()
    .add(1)
    .mul(input)
    .add(logWeight ? logWeight.mul(softplusNeg) : softplusNeg);
  if (options.weight) loss = loss.mul(options.weight);
  return reduce('binaryCrossEntropyWithLogits', loss, options.reduction ?? 'mean');
}
