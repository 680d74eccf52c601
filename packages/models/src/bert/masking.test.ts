// The masked-LM corruption and the next-sentence pairs against their definitions (Devlin et al.
// 2018; HF's DataCollatorForLanguageModeling): frequencies over many draws within 5 sigma of the
// binomial expectation, and the invariants exactly.
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { Random } from '@kiln/data';
import { WordPiece } from '@kiln/tokenizers';
import { describe, expect, it } from 'vitest';
import { MLMCollator, maskTokens, nextSentencePairs } from '../index.js';

const VOCAB = 1000;
const [PAD, CLS, SEP, MASK] = [0, 1, 2, 3];
const SPECIAL = [PAD, CLS, SEP, MASK];

/** |observed - n p| within 5 binomial standard deviations. */
function expectBinomial(observed: number, n: number, p: number): void {
  const sigma = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(observed - n * p), `${observed} of ${n}, p = ${p}`).toBeLessThan(5 * sigma);
}

describe('maskTokens', () => {
  it('selects 15% of ordinary tokens; of those 80% [MASK], 10% random, 10% unchanged; never special tokens or padding', () => {
    const rng = new Random(7);
    // [CLS] 40 ordinary ids [SEP] 10 more [SEP] then 9 padding: 50 eligible positions per draw.
    const ordinary = Array.from({ length: 50 }, (_, i) => 10 + ((i * 37) % (VOCAB - 10)));
    const ids = [CLS, ...ordinary.slice(0, 40), SEP, ...ordinary.slice(40), SEP, ...Array(9).fill(PAD)];
    const draws = 4000;
    let eligible = 0;
    let selected = 0;
    let masked = 0;
    let unchanged = 0;
    let replaced = 0;
    let replacementSum = 0;
    // Invariant breaks are counted (an expect per token would dominate the run time).
    let broken = 0;
    for (let d = 0; d < draws; d++) {
      const out = maskTokens(ids, { vocabSize: VOCAB, maskTokenId: MASK, specialIds: SPECIAL }, rng);
      for (let i = 0; i < ids.length; i++) {
        const label = out.labels[i];
        const id = out.inputIds[i];
        if (SPECIAL.includes(ids[i])) {
          if (label !== -100 || id !== ids[i]) broken++;
          continue;
        }
        eligible++;
        if (label === -100) {
          if (id !== ids[i]) broken++;
          continue;
        }
        if (label !== ids[i]) broken++;
        selected++;
        if (id === MASK) masked++;
        else if (id === ids[i]) unchanged++;
        else {
          replaced++;
          replacementSum += id;
        }
      }
    }
    expect(broken).toBe(0);
    expect(eligible).toBe(50 * draws);
    expectBinomial(selected, eligible, 0.15);
    // A random replacement is uniform over the vocabulary, so it hits [MASK] or the original 1/V times.
    expectBinomial(masked, selected, 0.8 + 0.1 / VOCAB);
    expectBinomial(unchanged, selected, 0.1 + 0.1 / VOCAB);
    expectBinomial(replaced, selected, 0.1 * (1 - 2 / VOCAB));
    // The mean of U{0..V-1} is (V - 1) / 2, standard deviation V / sqrt(12) per draw.
    const mean = replacementSum / replaced;
    expect(Math.abs(mean - (VOCAB - 1) / 2)).toBeLessThan((5 * VOCAB) / Math.sqrt(12 * replaced));
  });

  it('follows `probability`, and a seed reproduces the draw', () => {
    const ids = Array.from({ length: 8000 }, (_, i) => 10 + (i % 900));
    const options = { vocabSize: VOCAB, maskTokenId: MASK, specialIds: SPECIAL, probability: 0.4 };
    const a = maskTokens(ids, options, new Random(3));
    expectBinomial(a.labels.filter((l) => l !== -100).length, ids.length, 0.4);
    expect(maskTokens(ids, options, new Random(3))).toEqual(a);
  });

  it('rejects options outside their ranges, naming them', () => {
    const rng = new Random(0);
    expect(() =>
      maskTokens([5], { vocabSize: 10, maskTokenId: 3, specialIds: [], probability: 1.5 }, rng),
    ).toThrow(/maskTokens: probability must be in \[0, 1\], got 1\.5/);
    expect(() => maskTokens([5], { vocabSize: 10, maskTokenId: 10, specialIds: [] }, rng)).toThrow(
      /maskTokens: maskTokenId 10 is outside \[0, 10\)/,
    );
  });
});

describe('MLMCollator', () => {
  it('pads to the longest example, never masks padding, and keeps segments and next-sentence labels', () => {
    const collator = new MLMCollator({
      vocabSize: VOCAB,
      maskTokenId: MASK,
      padTokenId: PAD,
      specialIds: [CLS, SEP],
      probability: 0.5,
      seed: 1,
    });
    const examples = [
      { inputIds: [CLS, 11, 12, SEP, 13, SEP], tokenTypeIds: [0, 0, 0, 0, 1, 1], nextSentenceLabel: 0 },
      { inputIds: [CLS, 14, SEP, 15, SEP], tokenTypeIds: [0, 0, 0, 1, 1], nextSentenceLabel: 1 },
    ];
    const batch = collator.collate(examples);
    expect(batch.inputIds.shape).toEqual([2, 6]);
    expect(batch.attentionMask.toArraySync()).toEqual([
      [1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 0],
    ]);
    expect(batch.tokenTypeIds.toArraySync()).toEqual([
      [0, 0, 0, 0, 1, 1],
      [0, 0, 0, 1, 1, 0],
    ]);
    expect(batch.nextSentenceLabel!.toArraySync()).toEqual([0, 1]);
    const ids = batch.inputIds.toArraySync() as number[][];
    const labels = batch.labels.toArraySync() as number[][];
    expect(ids[1][5]).toBe(PAD);
    expect(labels[1][5]).toBe(-100);
    for (const [row, e] of examples.entries())
      for (const [i, id] of e.inputIds.entries()) {
        if (id === CLS || id === SEP) expect(labels[row][i]).toBe(-100);
        if (labels[row][i] !== -100) expect(labels[row][i]).toBe(id);
        else expect(ids[row][i]).toBe(id);
      }
    const again = new MLMCollator({
      vocabSize: VOCAB,
      maskTokenId: MASK,
      padTokenId: PAD,
      specialIds: [CLS, SEP],
      probability: 0.5,
      seed: 1,
    });
    expect(again.collate(examples).inputIds.toArraySync()).toEqual(ids);
    k.dispose(Object.values(batch));
  });

  it('takes [MASK], [PAD] and every special token from a BERT tokenizer', () => {
    const tok = WordPiece.train(['the cat sat on the mat. the dog sat on the log.'], { vocabSize: 60 });
    const collator = MLMCollator.fromTokenizer(tok, { probability: 1, seed: 0 });
    const e = tok.encode('the cat sat', 'on the mat');
    const batch = collator.collate([{ inputIds: e.ids, tokenTypeIds: e.typeIds }]);
    const labels = batch.labels.toArraySync() as number[][];
    // probability 1: every ordinary token is selected, [CLS] / [SEP] never.
    expect(labels[0].map((l) => l !== -100)).toEqual(e.tokens.map((t) => t !== '[CLS]' && t !== '[SEP]'));
    k.dispose(Object.values(batch));
  });
});

describe('nextSentencePairs', () => {
  it('pairs each sentence with its successor half of the time and with another document otherwise', () => {
    const documents = Array.from({ length: 40 }, (_, d) => Array.from({ length: 26 }, (_, i) => `${d}:${i}`));
    const pairs = nextSentencePairs(documents, new Random(5));
    expect(pairs.length).toBe(40 * 25);
    expectBinomial(pairs.filter((p) => p.nextSentenceLabel === 0).length, pairs.length, 0.5);
    for (const { first, second, nextSentenceLabel } of pairs) {
      const [d, i] = first.split(':').map(Number);
      if (nextSentenceLabel === 0) expect(second).toBe(`${d}:${i + 1}`);
      else expect(Number(second.split(':')[0])).not.toBe(d);
    }
  });

  it('with one document, a random second sentence is never the true successor', () => {
    const pairs = nextSentencePairs([['a', 'b', 'c', 'd', 'e']], new Random(1));
    const order = ['a', 'b', 'c', 'd', 'e'];
    for (const p of pairs)
      if (p.nextSentenceLabel === 1) expect(p.second).not.toBe(order[order.indexOf(p.first) + 1]);
  });
});
