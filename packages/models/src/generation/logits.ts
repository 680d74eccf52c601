// Logits processors and warpers, in Hugging Face's order and with its definitions: the repetition
// penalty is applied to every generated step (greedy or sampled); temperature, top-k and top-p only
// when sampling. Each maps next-token scores [B, V] to new scores [B, V].
import * as k from '@kiln/core';

/**
 * CTRL's repetition penalty (HF's RepetitionPenaltyLogitsProcessor): the score of every token that
 * already occurs in the row (prompt included) is divided by `penalty` if positive, multiplied if
 * negative.
 */
export function applyRepetitionPenalty(scores: k.Tensor, ids: k.Tensor, penalty: number): k.Tensor {
  const [b, v] = scores.shape;
  const counts = k.zeros([b, v], { dtype: scores.dtype, device: scores.device });
  const seen = counts
    .scatterAdd(1, ids, k.ones(ids.shape, { dtype: scores.dtype, device: scores.device }))
    .gt(0);
  const penalised = k.where(scores.lt(0), scores.mul(penalty), scores.div(penalty));
  return k.where(seen, penalised, scores);
}

/** Keeps the k highest scores of each row (ties with the k-th kept too), -inf elsewhere. */
export function topKFilter(scores: k.Tensor, topK: number): k.Tensor {
  const kk = Math.min(topK, scores.shape[scores.ndim - 1]);
  const kth = scores.topk(kk, -1).values.slice(-1, kk - 1, kk);
  return scores.maskedFill(scores.lt(kth), Number.NEGATIVE_INFINITY);
}

/**
 * Nucleus filtering (HF's TopPLogitsWarper): keeps the smallest set of highest-probability tokens
 * whose mass reaches topP (at least one). A token is kept when the mass of the tokens ranked above
 * it is below topP; tokens tied with the last kept one are kept as well.
 */
export function topPFilter(scores: k.Tensor, topP: number): k.Tensor {
  const sorted = scores.sort(-1, true).values;
  const probs = sorted.softmax(-1);
  const massAbove = probs.cumsum(-1).sub(probs);
  const keep = massAbove.lt(topP);
  const cutoff = k.where(keep, sorted, Number.POSITIVE_INFINITY).amin(-1, true);
  return scores.maskedFill(scores.lt(cutoff), Number.NEGATIVE_INFINITY);
}
