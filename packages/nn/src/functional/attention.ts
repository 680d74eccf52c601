// Scaled dot-product attention and multi-head attention as functions, with PyTorch's mask
// conventions (which differ between the two, as in torch):
// - scaledDotProductAttention (torch.nn.functional.scaled_dot_product_attention): a boolean
//   attnMask marks positions that TAKE PART in attention; a float mask is added to the scores.
// - multiHeadAttentionForward (nn.MultiheadAttention): boolean attnMask / keyPaddingMask mark
//   positions that are MASKED OUT; float masks are added.
import * as k from '@kiln/core';
import { dropout } from './dropout.js';
import { linear } from './linear.js';

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export interface ScaledDotProductAttentionOptions {
  /** [..., L, S]: boolean (true = attend) or float (added to the scores). */
  attnMask?: k.Tensor | null;
  dropoutP?: number;
  /** Mask out keys after each query position (a lower-triangular mask). */
  isCausal?: boolean;
  /** Score scale; defaults to 1 / sqrt(E). */
  scale?: number | null;
  /** Whether dropout is applied (default true, as the functional form always applies dropoutP). */
  training?: boolean;
}

/** A float mask (0 where allowed, -inf where not) from a boolean mask whose true entries are MASKED OUT. */
function additiveFromMasked(mask: k.Tensor, dtype: k.DType): k.Tensor {
  return k.zeros(mask.shape, { dtype, device: mask.device }).maskedFill(mask, Number.NEGATIVE_INFINITY);
}

function causalMask(l: number, s: number, device: k.Device): k.Tensor {
  // true above the diagonal (key index > query index): those keys are in the query's future
  return k.tidy(() =>
    k
      .arange(s, undefined, 1, { device })
      .unsqueeze(0)
      .gt(k.arange(l, undefined, 1, { device }).unsqueeze(1)),
  );
}

/**
 * softmax(q k^T * scale + mask) v for q [..., L, E], k [..., S, E], v [..., S, Ev] -> [..., L, Ev].
 */
export function scaledDotProductAttention(
  q: k.Tensor,
  key: k.Tensor,
  value: k.Tensor,
  options: ScaledDotProductAttentionOptions = {},
): k.Tensor {
  const { attnMask = null, dropoutP = 0, isCausal = false, scale = null, training = true } = options;
  if (q.ndim < 2 || key.ndim < 2 || value.ndim < 2) {
    throw new Error(
      `scaledDotProductAttention: expected q, k, v with at least 2 dims, got ${shapeText(q.shape)}, ${shapeText(key.shape)}, ${shapeText(value.shape)}`,
    );
  }
  const e = q.shape[q.ndim - 1];
  if (key.shape[key.ndim - 1] !== e)
    throw new Error(
      `scaledDotProductAttention: query ${shapeText(q.shape)} and key ${shapeText(key.shape)} must share the last dim`,
    );
  if (key.shape[key.ndim - 2] !== value.shape[value.ndim - 2])
    throw new Error(
      `scaledDotProductAttention: key ${shapeText(key.shape)} and value ${shapeText(value.shape)} must have the same sequence length`,
    );
  if (isCausal && attnMask)
    throw new Error('scaledDotProductAttention: attnMask and isCausal cannot both be set');
  const l = q.shape[q.ndim - 2];
  const s = key.shape[key.ndim - 2];
  let scores = q.matmul(key.mT).mul(scale ?? 1 / Math.sqrt(e));
  if (isCausal) scores = scores.add(additiveFromMasked(causalMask(l, s, q.device), scores.dtype));
  if (attnMask)
    scores = scores.add(
      attnMask.dtype === 'bool' ? additiveFromMasked(attnMask.logicalNot(), scores.dtype) : attnMask,
    );
  let weights = scores.softmax(-1);
  if (dropoutP > 0) weights = dropout(weights, dropoutP, training);
  return weights.matmul(value);
}

export interface MultiHeadAttentionOptions {
  numHeads: number;
  inProjWeight?: k.Tensor | null;
  inProjBias?: k.Tensor | null;
  /** Separate projections, when key/value dims differ from the embedding dim. */
  qProjWeight?: k.Tensor | null;
  kProjWeight?: k.Tensor | null;
  vProjWeight?: k.Tensor | null;
  biasK?: k.Tensor | null;
  biasV?: k.Tensor | null;
  addZeroAttn?: boolean;
  outProjWeight: k.Tensor;
  outProjBias?: k.Tensor | null;
  dropoutP?: number;
  training?: boolean;
  /** [N, S] (or [S] unbatched): boolean true = ignore this key, or float added to the scores. */
  keyPaddingMask?: k.Tensor | null;
  /** [L, S] or [N * numHeads, L, S]: boolean true = not allowed, or float added. */
  attnMask?: k.Tensor | null;
  needWeights?: boolean;
  averageAttnWeights?: boolean;
  isCausal?: boolean;
}

/**
 * torch.nn.functional.multi_head_attention_forward (torch 1.13) for sequence-first inputs
 * query [L, N, E], key [S, N, Ek], value [S, N, Ev] (or unbatched [L, E], ...). Returns the output
 * [L, N, E] and, if asked, the attention weights [N, L, S] (averaged over heads) or
 * [N, numHeads, L, S].
 */
export function multiHeadAttentionForward(
  query: k.Tensor,
  key: k.Tensor,
  value: k.Tensor,
  o: MultiHeadAttentionOptions,
): [k.Tensor, k.Tensor | null] {
  const batched = query.ndim === 3;
  if (query.ndim !== 2 && query.ndim !== 3)
    throw new Error(
      `multiHeadAttention: query should be unbatched 2D or batched 3D tensor but received ${query.ndim}-D query tensor of shape ${shapeText(query.shape)}`,
    );
  if (key.ndim !== query.ndim || value.ndim !== query.ndim) {
    throw new Error(
      `multiHeadAttention: for ${query.ndim}-D query ${shapeText(query.shape)}, expected key and value to be ${query.ndim}-D but got ${shapeText(key.shape)} and ${shapeText(value.shape)}`,
    );
  }
  const q3 = batched ? query : query.unsqueeze(1);
  const k3 = batched ? key : key.unsqueeze(1);
  const v3 = batched ? value : value.unsqueeze(1);
  let kpm = o.keyPaddingMask ?? null;
  if (kpm && !batched) kpm = kpm.unsqueeze(0);
  let attnMask = o.attnMask ?? null;
  const [tgtLen, bsz, embedDim] = q3.shape;
  const srcLen0 = k3.shape[0];
  const h = o.numHeads;
  const headDim = embedDim / h;
  if (!Number.isInteger(headDim))
    throw new Error(`multiHeadAttention: embed_dim ${embedDim} not divisible by num_heads ${h}`);
  if (k3.shape[0] !== v3.shape[0] || k3.shape[1] !== bsz || v3.shape[1] !== bsz) {
    throw new Error(
      `multiHeadAttention: key ${shapeText(key.shape)} and value ${shapeText(value.shape)} do not match query ${shapeText(query.shape)}`,
    );
  }
  if (o.isCausal && !attnMask) attnMask = causalMask(tgtLen, srcLen0, query.device);

  // Input projections: slices of the packed weight (or the separate q/k/v weights).
  let q: k.Tensor;
  let kk: k.Tensor;
  let v: k.Tensor;
  if (o.inProjWeight) {
    const [wq, wk, wv] = o.inProjWeight.chunk(3, 0);
    const [bq, bk, bv] = o.inProjBias ? o.inProjBias.chunk(3, 0) : [null, null, null];
    q = linear(q3, wq, bq);
    kk = linear(k3, wk, bk);
    v = linear(v3, wv, bv);
  } else {
    if (!o.qProjWeight || !o.kProjWeight || !o.vProjWeight)
      throw new Error('multiHeadAttention: use_separate_proj_weight requires q, k and v projection weights');
    const [bq, bk, bv] = o.inProjBias ? o.inProjBias.chunk(3, 0) : [null, null, null];
    q = linear(q3, o.qProjWeight, bq);
    kk = linear(k3, o.kProjWeight, bk);
    v = linear(v3, o.vProjWeight, bv);
  }

  // Masks: 2-D [L, S] -> [1, L, S]; 3-D must be [N * H, L, S].
  if (attnMask) {
    if (attnMask.ndim === 2) {
      if (attnMask.shape[0] !== tgtLen || attnMask.shape[1] !== srcLen0)
        throw new Error(
          `multiHeadAttention: the shape of the 2D attn_mask is ${shapeText(attnMask.shape)}, but should be [${tgtLen}, ${srcLen0}]`,
        );
      attnMask = attnMask.unsqueeze(0);
    } else if (attnMask.ndim === 3) {
      if (attnMask.shape[0] !== bsz * h || attnMask.shape[1] !== tgtLen || attnMask.shape[2] !== srcLen0) {
        throw new Error(
          `multiHeadAttention: the shape of the 3D attn_mask is ${shapeText(attnMask.shape)}, but should be [${bsz * h}, ${tgtLen}, ${srcLen0}]`,
        );
      }
    } else throw new Error(`multiHeadAttention: attn_mask's dimension ${attnMask.ndim} is not supported`);
  }

  if (o.biasK && o.biasV) {
    kk = k.cat([kk, o.biasK.reshape(1, 1, embedDim).expand(1, bsz, embedDim)], 0);
    v = k.cat([v, o.biasV.reshape(1, 1, embedDim).expand(1, bsz, embedDim)], 0);
    if (attnMask) attnMask = padLast(attnMask);
    if (kpm) kpm = padLast(kpm);
  }

  // [L, N, E] -> [N * H, L, hd]
  q = q.reshape(tgtLen, bsz * h, headDim).transpose(0, 1);
  kk = kk.reshape(kk.shape[0], bsz * h, headDim).transpose(0, 1);
  v = v.reshape(v.shape[0], bsz * h, headDim).transpose(0, 1);

  if (o.addZeroAttn) {
    kk = k.cat([kk, k.zeros([bsz * h, 1, headDim], { dtype: kk.dtype, device: kk.device })], 1);
    v = k.cat([v, k.zeros([bsz * h, 1, headDim], { dtype: v.dtype, device: v.device })], 1);
    if (attnMask) attnMask = padLast(attnMask);
    if (kpm) kpm = padLast(kpm);
  }
  const srcLen = kk.shape[1];

  // Merge the key padding mask into attnMask, then make it additive.
  if (kpm) {
    if (kpm.shape[0] !== bsz || kpm.shape[1] !== srcLen)
      throw new Error(
        `multiHeadAttention: expected key_padding_mask of shape [${bsz}, ${srcLen}], but got ${shapeText(kpm.shape)}`,
      );
    const expanded = kpm
      .reshape(bsz, 1, 1, srcLen)
      .expand(bsz, h, 1, srcLen)
      .reshape(bsz * h, 1, srcLen);
    if (!attnMask) attnMask = expanded;
    else if (attnMask.dtype === 'bool' && expanded.dtype === 'bool') attnMask = attnMask.logicalOr(expanded);
    else {
      const a = attnMask.dtype === 'bool' ? additiveFromMasked(attnMask, q.dtype) : attnMask;
      attnMask =
        expanded.dtype === 'bool' ? a.maskedFill(expanded, Number.NEGATIVE_INFINITY) : a.add(expanded);
    }
  }
  if (attnMask && attnMask.dtype === 'bool') attnMask = additiveFromMasked(attnMask, q.dtype);

  const training = o.training ?? true;
  let scores = q.div(Math.sqrt(headDim)).matmul(kk.transpose(1, 2));
  if (attnMask) scores = scores.add(attnMask);
  let weights = scores.softmax(-1);
  const p = o.dropoutP ?? 0;
  if (p > 0 && training) weights = dropout(weights, p, true);
  let out = weights.matmul(v);
  out = out.transpose(0, 1).reshape(tgtLen * bsz, embedDim);
  out = linear(out, o.outProjWeight, o.outProjBias ?? null).reshape(tgtLen, bsz, embedDim);
  if (!batched) out = out.squeeze(1);

  if (!(o.needWeights ?? true)) return [out, null];
  let w = weights.reshape(bsz, h, tgtLen, srcLen);
  if (o.averageAttnWeights ?? true) w = w.mean(1);
  if (!batched) w = w.squeeze(0);
  return [out, w];
}

/** Appends one zero (false) column to the last dim of a mask (torch's F.pad(mask, (0, 1))). */
function padLast(mask: k.Tensor): k.Tensor {
  const shape = [...mask.shape];
  shape[shape.length - 1] = 1;
  return k.cat([mask, k.zeros(shape, { dtype: mask.dtype, device: mask.device })], -1);
}
