// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_). The scaling runs on the
// device without reading the norm back, so it costs no synchronisation on a GPU backend.
import * as k from '@kiln/core';
import { itemSyncFor } from './sync-read.js';

function withGrads(params: Iterable<k.Tensor> | k.Tensor): k.Tensor[] {
  const list = k.isTensor(params) ? [params] : [...params];
  return list.filter((p) => p.grad !== null);
}

export interface ClipGradNormOptions {
  /** The p of the p-norm (default 2; Infinity for the max-abs norm). */
  normType?: number;
  /**
   * Throw if the total norm is NaN or infinite. Reads the norm back synchronously (as PyTorch does),
   * so devices that cannot (WebGPU) reject it.
   */
  errorIfNonfinite?: boolean;
}

/**
 * Scales all gradients in place so that their joint norm is at most `maxNorm`, and returns that
 * norm (before clipping) as a 0-d tensor. As in PyTorch the factor is maxNorm / (norm + 1e-6),
 * clamped to 1.
 */
export function clipGradNorm_(
  params: Iterable<k.Tensor> | k.Tensor,
  maxNorm: number,
  options: ClipGradNormOptions = {},
): k.Tensor {
  const normType = options.normType ?? 2;
  const list = withGrads(params);
  if (list.length === 0) return k.tensor(0);
  return k.noGrad(() => {
    const total = k.tidy(() => {
      const norms = list.map((p) => p.grad!.norm(normType));
      const stacked = k.stack(norms);
      return normType === Number.POSITIVE_INFINITY ? stacked.max() : stacked.norm(normType);
    });
    if (options.errorIfNonfinite) {
      const v = itemSyncFor(
        'clipGradNorm_',
        total,
        'errorIfNonfinite',
        'leave it off and check the returned norm with `await norm.item()` before the optimizer step',
      );
      if (!Number.isFinite(v)) {
        throw new Error(
          `clipGradNorm_: the total norm of order ${normType} for gradients from \`parameters\` is non-finite, so it cannot be clipped.`,
        );
      }
    }
    k.tidy(() => {
      const coef = total.add(1e-6).reciprocal().mul(maxNorm).clamp(null, 1);
      for (const p of list) p.grad!.mul_(coef.to(p.grad!.dtype));
    });
    return total;
  });
}

/** Clamps every gradient element to [-clipValue, clipValue] in place. */
export function clipGradValue_(params: Iterable<k.Tensor> | k.Tensor, clipValue: number): void {
  k.noGrad(() => {
    for (const p of withGrads(params)) p.grad!.clamp_(-clipValue, clipValue);
  });
}
