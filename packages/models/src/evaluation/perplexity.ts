// Perplexity of a causal LM over batches: exp of the mean next-token negative log-likelihood over
// every predicted token of every batch (token-weighted, so batches of different sizes count by
// their tokens, not equally). Padding (attentionMask 0) and labels of -100 are not predicted, and
// positions count real tokens only, so left padding changes nothing.
import * as k from '@kiln/core';
import { F } from '@kiln/nn';

/** A batch: token ids [B, T], or ids with a padding mask and/or explicit labels (-100 = ignore). */
export type PerplexityBatch =
  | k.Tensor
  | { inputIds: k.Tensor; attentionMask?: k.Tensor | null; labels?: k.Tensor | null };

export interface LogitsModel {
  forward(
    inputIds: k.Tensor,
    options: { attentionMask?: k.Tensor | null; positionIds?: k.Tensor | null },
  ): { logits: k.Tensor };
}

/** Sum of next-token NLL and the number of predicted tokens of one batch (0-d tensors). */
function batchNll(model: LogitsModel, batch: PerplexityBatch): { nll: k.Tensor; tokens: k.Tensor } {
  const { inputIds, attentionMask = null, labels = null } = k.isTensor(batch) ? { inputIds: batch } : batch;
  return k.noGrad(() =>
    k.tidy(() => {
      const [b, t] = inputIds.shape;
      const targets = labels ?? inputIds;
      // Positions follow the mask (as in generate), so a left-padded row scores as it would alone.
      const positionIds = attentionMask
        ? attentionMask.ne(0).to('int32').cumsum(-1).sub(1).maskedFill(attentionMask.eq(0), 1).to('int32')
        : null;
      const { logits } = model.forward(inputIds, { attentionMask, positionIds });
      const v = logits.shape[2];
      const shiftLogits = logits
        .slice(1, 0, t - 1)
        .reshape(b * (t - 1), v)
        .to('float32');
      let shifted = targets.slice(1, 1, t);
      if (attentionMask) {
        // A token is predicted only from a real token: the first token after padding is not.
        const real = attentionMask.ne(0);
        shifted = k.where(real.slice(1, 1, t).logicalAnd(real.slice(1, 0, t - 1)), shifted, -100);
      }
      const shiftTargets = shifted.reshape(b * (t - 1));
      const nll = F.crossEntropy(shiftLogits, shiftTargets, {
        reduction: 'sum',
        ignoreIndex: -100,
      });
      return { nll, tokens: shiftTargets.ne(-100).sum() };
    }),
  );
}

/**
 * exp(total NLL / total predicted tokens) over `batches` (an array, iterable or async iterable,
 * e.g. a DataLoader). The model runs in whatever mode it is in; call `model.eval()` first.
 */
export async function perplexity(
  model: LogitsModel,
  batches: Iterable<PerplexityBatch> | AsyncIterable<PerplexityBatch>,
): Promise<number> {
  let nll = 0;
  let tokens = 0;
  for await (const batch of batches) {
    const r = batchNll(model, batch);
    // Read asynchronously, so that it runs on backends that cannot block (WebGPU).
    nll += await r.nll.item();
    tokens += await r.tokens.item();
    k.dispose([r.nll, r.tokens]);
  }
  if (tokens === 0)
    throw new Error('perplexity: the batches hold no predicted tokens (need sequences of length >= 2)');
  return Math.exp(nll / tokens);
}
