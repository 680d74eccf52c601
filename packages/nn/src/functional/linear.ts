// linear, bilinear and embedding as functions of their weights.
import * as k from '@kiln/core';
import { itemSyncFor } from '../utils/sync-read.js';

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * y = x W^T + b for x of shape [..., in] and W [out, in]: core's linear op (the weight used as
 * one transposed view, never copied per batch; one fused kernel on backends that have it).
 */
export function linear(x: k.Tensor, weight: k.Tensor, bias?: k.Tensor | null): k.Tensor {
  return k.linear(x, weight, bias ?? null);
}

/** y_k = x1^T A_k x2 + b_k for x1 [..., in1], x2 [..., in2] and A [out, in1, in2]. */
export function bilinear(x1: k.Tensor, x2: k.Tensor, weight: k.Tensor, bias?: k.Tensor | null): k.Tensor {
  const [out, in1, in2] = weight.shape;
  if (x1.shape[x1.ndim - 1] !== in1 || x2.shape[x2.ndim - 1] !== in2 || x1.ndim !== x2.ndim) {
    throw new Error(
      `bilinear: inputs ${shapeText(x1.shape)} and ${shapeText(x2.shape)} do not match weight ${shapeText(weight.shape)}`,
    );
  }
  const lead = x1.shape.slice(0, -1);
  const a = x1.reshape(-1, in1);
  const b = x2.reshape(-1, in2);
  // (x1 A_k) . x2 for every k: [N, in1] x [in1, out*in2] -> [N, out, in2], then dot with x2.
  const xa = a.matmul(weight.permute(1, 0, 2).reshape(in1, out * in2)).reshape(-1, out, in2);
  let y = xa.mul(b.unsqueeze(1)).sum(-1);
  if (bias) y = y.add(bias);
  return y.reshape(...lead, out);
}

export interface EmbeddingOptions {
  /** Rows at this index receive no gradient (their vectors stay as they are). */
  paddingIdx?: number | null;
}

/** Rows of `weight` at the integer indices `input`: output shape [...input.shape, dim]. */
export function embedding(input: k.Tensor, weight: k.Tensor, options: EmbeddingOptions = {}): k.Tensor {
  if (k.isFloating(input.dtype) || input.dtype === 'bool') {
    throw new TypeError(`embedding: expected integer indices (int32 or int64), got ${input.dtype}`);
  }
  const [num, dim] = weight.shape;
  const rows = weight.indexSelect(0, input.reshape(-1));
  const out = rows.reshape(...input.shape, dim);
  const pad = options.paddingIdx;
  if (pad === undefined || pad === null || !out.requiresGrad) return out;
  const p = pad < 0 ? pad + num : pad;
  // Same values; the gradient is blocked where the index is the padding index.
  return k.where(input.ne(p).unsqueeze(-1), out, out.detach());
}

/**
 * One-hot encoding (int32, Kiln's default integer dtype) with classes on a new last dim. Without
 * `numClasses` it is max(input) + 1, as in PyTorch; finding it reads the input back, so on a device
 * that cannot read synchronously (WebGPU) `numClasses` must be given.
 */
export function oneHot(input: k.Tensor, numClasses = -1): k.Tensor {
  if (k.isFloating(input.dtype) || input.dtype === 'bool')
    throw new TypeError(`oneHot: expected integer class values, got ${input.dtype}`);
  const n = numClasses >= 0 ? numClasses : inferredNumClasses(input);
  return k.tidy(() =>
    input
      .unsqueeze(-1)
      .eq(k.arange(n, undefined, 1, { device: input.device }))
      .int(),
  );
}

function inferredNumClasses(input: k.Tensor): number {
  if (input.numel() === 0) return 0;
  const max = input.max();
  try {
    return (
      itemSyncFor(
        'oneHot',
        max,
        'inferring numClasses (max + 1)',
        'pass numClasses, e.g. F.oneHot(labels, 10)',
      ) + 1
    );
  } finally {
    max.dispose();
  }
}
