// BERT's pretraining data: the masked-LM corruption (Devlin et al. 2018, section 3.1 and appendix
// A.1; Hugging Face's DataCollatorForLanguageModeling) and the next-sentence pairs (50% the real
// next sentence, 50% a random one). Host-side and seeded (PCG32 from @kiln/data), so a seed gives
// the same batches on every backend.
import * as k from '@kiln/core';
import { Random, type Seed } from '@kiln/data';
import type { SpecialTokenRole, Tokenizer } from '@kiln/tokenizers';

export interface MaskTokensOptions {
  /** Random replacements are drawn uniformly from [0, vocabSize), as HF draws from len(tokenizer). */
  vocabSize: number;
  maskTokenId: number;
  /** Ids never selected ([CLS], [SEP], [PAD], ...: HF's special-tokens mask). */
  specialIds: Iterable<number>;
  /** Chance that a (non-special) token is selected for prediction; default 0.15. */
  probability?: number;
}

export interface MaskedTokens {
  /** The corrupted input: of the selected tokens 80% [MASK], 10% a random id, 10% unchanged. */
  inputIds: Int32Array;
  /** The original id at selected positions, -100 (ignored by the loss) elsewhere. */
  labels: Int32Array;
}

function checkMaskOptions(options: MaskTokensOptions): void {
  const p = options.probability ?? 0.15;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`maskTokens: probability must be in [0, 1], got ${p}`);
  if (!Number.isInteger(options.vocabSize) || options.vocabSize <= 0)
    throw new RangeError(`maskTokens: vocabSize must be a positive integer, got ${options.vocabSize}`);
  if (
    !Number.isInteger(options.maskTokenId) ||
    options.maskTokenId < 0 ||
    options.maskTokenId >= options.vocabSize
  )
    throw new RangeError(
      `maskTokens: maskTokenId ${options.maskTokenId} is outside [0, ${options.vocabSize})`,
    );
}

/**
 * HF's torch_mask_tokens for one sequence: each non-special token is selected with `probability`;
 * a selected token becomes [MASK] with chance 0.8, a uniformly random id with 0.1, and stays with
 * 0.1 (HF draws 0.8, then 0.5 of the rest: the same distribution). Labels keep the original ids of
 * the selected tokens and are -100 elsewhere.
 */
export function maskTokens(ids: ArrayLike<number>, options: MaskTokensOptions, rng: Random): MaskedTokens {
  checkMaskOptions(options);
  const p = options.probability ?? 0.15;
  const special = new Set(options.specialIds);
  const inputIds = Int32Array.from(ids);
  const labels = new Int32Array(inputIds.length).fill(-100);
  for (let i = 0; i < inputIds.length; i++) {
    if (special.has(inputIds[i]) || !rng.bernoulli(p)) continue;
    labels[i] = inputIds[i];
    const u = rng.float();
    if (u < 0.8) inputIds[i] = options.maskTokenId;
    else if (u < 0.9) inputIds[i] = rng.int(options.vocabSize);
  }
  return { inputIds, labels };
}

/** One tokenized example: ids (with [CLS]/[SEP] already in), segment ids, and for NSP its label. */
export interface MLMExample {
  inputIds: ArrayLike<number>;
  tokenTypeIds?: ArrayLike<number>;
  /** 0 when sentence B follows A, 1 when it is random. */
  nextSentenceLabel?: number;
}

/** A padded batch ready for BertForPreTraining / BertForMaskedLM.forward. */
export interface MLMBatch {
  /** int32 [B, T] corrupted ids, padded with padTokenId to the longest example */
  inputIds: k.Tensor;
  /** int32 [B, T]: 1 for tokens, 0 for padding */
  attentionMask: k.Tensor;
  /** int32 [B, T]: the examples' segment ids (0 where absent and at padding) */
  tokenTypeIds: k.Tensor;
  /** int32 [B, T]: original ids at selected positions, -100 elsewhere and at padding */
  labels: k.Tensor;
  /** int32 [B] when every example has a nextSentenceLabel */
  nextSentenceLabel?: k.Tensor;
}

export interface MLMCollatorOptions extends MaskTokensOptions {
  /** Added to specialIds: padding is never selected. */
  padTokenId: number;
  /** Seeds the masking (PCG32); default 0. */
  seed?: Seed;
  /** Where the batch tensors are made; default the current default device. */
  device?: k.Device;
}

/**
 * Pads examples to the longest and masks them (HF's DataCollatorForLanguageModeling with mlm=True),
 * drawing from its own seeded generator, so a collator seeded alike yields the same batches.
 */
export class MLMCollator {
  private readonly rng: Random;
  private readonly mask: MaskTokensOptions;

  constructor(private readonly options: MLMCollatorOptions) {
    checkMaskOptions(options);
    this.rng = new Random(options.seed ?? 0);
    this.mask = { ...options, specialIds: [...options.specialIds, options.padTokenId] };
  }

  /** Options from a BERT tokenizer: every special-token role (pad, unk, cls, sep, mask) is kept. */
  static fromTokenizer(
    tokenizer: Tokenizer,
    options: { probability?: number; seed?: Seed; device?: k.Device } = {},
  ): MLMCollator {
    const maskTokenId = tokenizer.specialTokenId('mask');
    const padTokenId = tokenizer.specialTokenId('pad');
    if (maskTokenId === undefined || padTokenId === undefined)
      throw new Error('MLMCollator.fromTokenizer: the tokenizer has no [MASK] or [PAD] token role');
    const specialIds = Object.keys(tokenizer.specialTokens)
      .map((role) => tokenizer.specialTokenId(role as SpecialTokenRole))
      .filter((id): id is number => id !== undefined);
    return new MLMCollator({
      ...options,
      vocabSize: tokenizer.vocabSize,
      maskTokenId,
      padTokenId,
      specialIds,
    });
  }

  /**
   * `rng` replaces the collator's own generator for this batch: e.g. one seeded by the step, so
   * that a batch depends only on its step (what a resumable training loop needs).
   */
  collate(examples: readonly MLMExample[], rng: Random = this.rng): MLMBatch {
    if (examples.length === 0) throw new Error('MLMCollator.collate: no examples');
    const b = examples.length;
    const t = Math.max(...examples.map((e) => e.inputIds.length));
    const ids = new Int32Array(b * t).fill(this.options.padTokenId);
    const attention = new Int32Array(b * t);
    const types = new Int32Array(b * t);
    const labels = new Int32Array(b * t).fill(-100);
    examples.forEach((e, row) => {
      const n = e.inputIds.length;
      if (e.tokenTypeIds && e.tokenTypeIds.length !== n)
        throw new Error(
          `MLMCollator.collate: example ${row} has ${n} inputIds but ${e.tokenTypeIds.length} tokenTypeIds`,
        );
      const masked = maskTokens(e.inputIds, this.mask, rng);
      ids.set(masked.inputIds, row * t);
      labels.set(masked.labels, row * t);
      attention.fill(1, row * t, row * t + n);
      if (e.tokenTypeIds) types.set(Int32Array.from(e.tokenTypeIds), row * t);
    });
    const opts = { dtype: 'int32' as const, device: this.options.device };
    const batch: MLMBatch = {
      inputIds: k.tensor(ids, opts).reshape(b, t),
      attentionMask: k.tensor(attention, opts).reshape(b, t),
      tokenTypeIds: k.tensor(types, opts).reshape(b, t),
      labels: k.tensor(labels, opts).reshape(b, t),
    };
    if (examples.every((e) => e.nextSentenceLabel !== undefined))
      batch.nextSentenceLabel = k.tensor(
        examples.map((e) => e.nextSentenceLabel as number),
        opts,
      );
    return batch;
  }
}

export interface SentencePair<T> {
  first: T;
  second: T;
  /** 0: `second` follows `first` in its document; 1: `second` is a random sentence (HF's labels). */
  nextSentenceLabel: 0 | 1;
}

/**
 * Next-sentence-prediction pairs, as BERT's pretraining data: for each sentence that has a
 * successor in its document, the pair is (sentence, successor) with probability 0.5 and otherwise
 * (sentence, a random sentence of another document). With a single document the random sentence
 * is any sentence other than the true successor.
 */
export function nextSentencePairs<T>(documents: readonly (readonly T[])[], rng: Random): SentencePair<T>[] {
  const all: { doc: number; index: number }[] = [];
  documents.forEach((doc, d) => {
    for (let i = 0; i < doc.length; i++) all.push({ doc: d, index: i });
  });
  const single = documents.filter((doc) => doc.length > 0).length < 2;
  const pairs: SentencePair<T>[] = [];
  documents.forEach((doc, d) => {
    for (let i = 0; i + 1 < doc.length; i++) {
      if (rng.bernoulli(0.5)) {
        pairs.push({ first: doc[i], second: doc[i + 1], nextSentenceLabel: 0 });
        continue;
      }
      let pick = all[rng.int(all.length)];
      while (single ? pick.doc === d && pick.index === i + 1 : pick.doc === d)
        pick = all[rng.int(all.length)];
      pairs.push({ first: doc[i], second: documents[pick.doc][pick.index], nextSentenceLabel: 1 });
    }
  });
  return pairs;
}
