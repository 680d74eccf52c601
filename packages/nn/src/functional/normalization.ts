// Normalisation as functions: layer norm is core's op; RMS, group and batch norm are composed of
// core ops (autograd derives their backward rules). Variances are biased (divide by N), as in PyTorch.
import * as k from '@kiln/core';

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function trailingDims(op: string, x: k.Tensor, normalizedShape: readonly number[]): number[] {
  const n = normalizedShape.length;
  const tail = x.shape.slice(x.ndim - n);
  if (x.ndim < n || tail.some((s, i) => s !== normalizedShape[i])) {
    throw new Error(
      `${op}: given normalized_shape=${shapeText(normalizedShape)}, expected input with shape [*, ${normalizedShape.join(', ')}], but got input of size ${shapeText(x.shape)}`,
    );
  }
  return normalizedShape.map((_, i) => x.ndim - n + i);
}

/**
 * (x - mean) / sqrt(var + eps) * weight + bias over the trailing `normalizedShape` dims: core's
 * layerNorm op (one fused kernel forward and backward on backends that have them).
 */
export function layerNorm(
  x: k.Tensor,
  normalizedShape: readonly number[],
  weight?: k.Tensor | null,
  bias?: k.Tensor | null,
  eps = 1e-5,
): k.Tensor {
  return k.layerNorm(x, normalizedShape, weight ?? null, bias ?? null, eps);
}

/** x / sqrt(mean(x^2) + eps) * weight; eps defaults to the dtype's machine epsilon (torch.nn.RMSNorm). */
export function rmsNorm(
  x: k.Tensor,
  normalizedShape: readonly number[],
  weight?: k.Tensor | null,
  eps?: number | null,
): k.Tensor {
  const dims = trailingDims('rmsNorm', x, normalizedShape);
  const e =
    eps ??
    (x.dtype === 'float64'
      ? 2.220446049250313e-16
      : x.dtype === 'float32'
        ? 1.1920928955078125e-7
        : 0.0009765625);
  const y = x.mul(x.square().mean(dims, true).add(e).rsqrt());
  return weight ? y.mul(weight) : y;
}

/** Normalises each of `numGroups` channel groups of x [N, C, *] separately, then applies per-channel affine. */
export function groupNorm(
  x: k.Tensor,
  numGroups: number,
  weight?: k.Tensor | null,
  bias?: k.Tensor | null,
  eps = 1e-5,
): k.Tensor {
  if (x.ndim < 2)
    throw new Error(`groupNorm: expected an input of at least 2 dims [N, C, *], got ${shapeText(x.shape)}`);
  const [n, c] = x.shape;
  if (c % numGroups !== 0)
    throw new Error(
      `groupNorm: the number of channels (${c}) must be divisible by the number of groups (${numGroups})`,
    );
  const grouped = x.reshape(n, numGroups, -1);
  const mean = grouped.mean(2, true);
  const centered = grouped.sub(mean);
  const variance = centered.square().mean(2, true);
  let y = centered.mul(variance.add(eps).rsqrt()).reshape(x.shape);
  const affineShape = x.shape.map((s, i) => (i === 1 ? s : 1));
  if (weight) y = y.mul(weight.reshape(affineShape));
  if (bias) y = y.add(bias.reshape(affineShape));
  return y;
}

export interface BatchNormOptions {
  runningMean?: k.Tensor | null;
  runningVar?: k.Tensor | null;
  weight?: k.Tensor | null;
  bias?: k.Tensor | null;
  /** Use batch statistics (and update the running ones, when given). */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * Batch norm over x [N, C, *]: statistics per channel over every other dim. In training the batch
 * statistics normalise and the running ones move by `momentum` towards them (the running variance
 * with the unbiased estimate, as PyTorch); otherwise the running statistics normalise.
 */
export function batchNorm(x: k.Tensor, options: BatchNormOptions = {}): k.Tensor {
  const {
    runningMean = null,
    runningVar = null,
    weight = null,
    bias = null,
    training = false,
    momentum = 0.1,
    eps = 1e-5,
  } = options;
  if (x.ndim < 2)
    throw new Error(`batchNorm: expected an input of at least 2 dims [N, C, *], got ${shapeText(x.shape)}`);
  const c = x.shape[1];
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const statShape = x.shape.map((s, i) => (i === 1 ? s : 1));
  let mean: k.Tensor;
  let variance: k.Tensor;
  if (training) {
    const count = x.numel() / c;
    if (count <= 1)
      throw new Error(
        `batchNorm: expected more than 1 value per channel when training, got input size ${shapeText(x.shape)}`,
      );
    mean = x.mean(dims, true);
    variance = x.sub(mean).square().mean(dims, true);
    if (runningMean && runningVar) {
      k.noGrad(() =>
        k.tidy(() => {
          runningMean.mul_(1 - momentum).add_(mean.reshape(c), momentum);
          runningVar.mul_(1 - momentum).add_(variance.reshape(c).mul(count / (count - 1)), momentum);
        }),
      );
    }
  } else {
    if (!runningMean || !runningVar)
      throw new Error('batchNorm: running_mean and running_var must be given when not training');
    mean = runningMean.reshape(statShape);
    variance = runningVar.reshape(statShape);
  }
  let y = x.sub(mean).mul(variance.add(eps).rsqrt());
  if (weight) y = y.mul(weight.reshape(statShape));
  if (bias) y = y.add(bias.reshape(statShape));
  return y;
}
