// Transformer masking and decoding: padding changes nothing, beam search with one beam is greedy
// decoding, wider beams never score below greedy, scores are the model's own log-probabilities,
// the attention rows are distributions over the real source tokens, and bad inputs name the op.
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { afterAll, describe, expect, it } from 'vitest';
import { beamSearch } from '../generation/beam-search.js';
import { Transformer, TransformerConfig } from '../index.js';

const SIZES = {
  srcVocabSize: 20,
  tgtVocabSize: 12,
  dModel: 16,
  nhead: 2,
  numEncoderLayers: 1,
  numDecoderLayers: 2,
  dimFeedforward: 32,
  dropout: 0,
  maxLength: 20,
};

function randomModel(seed: number): Transformer {
  k.manualSeed(seed);
  return new Transformer(SIZES).eval();
}

/** Four sources of lengths 3..6 drawn from ids 3..19 (0, 1, 2 are pad, BOS, EOS). */
function sources(seed: number): number[][] {
  return Array.from({ length: 4 }, (_, i) =>
    Array.from({ length: 3 + i }, (_, j) => 3 + ((seed * 7 + i * 5 + j * 3) % 17)),
  );
}

const ids = (rows: number[][]) => k.tensor(rows, { dtype: 'int32' });
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

const model = randomModel(0);
afterAll(() => model.dispose());

describe('Transformer padding masks', () => {
  it('gives the same logits for real positions however much padding follows in source and target', () => {
    const [src, tgt] = [ids([[5, 9, 4, 2]]), ids([[1, 7, 3]])];
    const [srcPadded, tgtPadded] = [ids([[5, 9, 4, 2, 0, 0, 0]]), ids([[1, 7, 3, 0, 0]])];
    const alone = k.noGrad(() => model.forward(src, tgt).logits);
    const padded = k.noGrad(() => model.forward(srcPadded, tgtPadded).logits.slice(1, 0, 3));
    expect(maxAbsDiff(padded.dataSync() as Float32Array, alone.dataSync() as Float32Array)).toBeLessThan(
      1e-5,
    );
    k.dispose([src, tgt, srcPadded, tgtPadded, alone, padded]);
  });

  it('translates a padded batch as it translates each source alone', async () => {
    const batch = await model.translate(sources(1), { maxLength: 8, numBeams: 2 });
    for (const [i, src] of sources(1).entries()) {
      const one = await model.translate(src, { maxLength: 8, numBeams: 2 });
      expect(batch[i].tokens).toEqual(one.tokens);
      expect(batch[i].score).toBeCloseTo(one.score, 4);
    }
  });

  it('ignores padding labels in the loss', () => {
    const [src, tgt] = [ids([[5, 9, 4, 2]]), ids([[1, 7, 3, 0]])];
    const loss = (labels: number[][]) =>
      k.noGrad(() => model.forward(src, tgt, { labels: ids(labels) }).loss!.itemSync());
    const logits = k.noGrad(() => model.forward(src, tgt).logits);
    // Reference: mean of -log softmax over the three real label positions only.
    const logp = k.noGrad(() => logits.logSoftmax(-1)).dataSync() as Float32Array;
    const v = SIZES.tgtVocabSize;
    const expected = -(logp[0 * v + 7] + logp[1 * v + 3] + logp[2 * v + 2]) / 3;
    expect(loss([[7, 3, 2, 0]])).toBeCloseTo(expected, 5);
    k.dispose([src, tgt, logits]);
  });
});

describe('Transformer.translate', () => {
  it('with beam search of one beam, produces exactly the greedy tokens', async () => {
    for (const seed of [0, 1, 2]) {
      const m = randomModel(seed);
      const srcs = sources(seed);
      const greedy = await m.translate(srcs, { maxLength: 10 });
      const src = ids(srcs.map((s) => [...s, ...new Array<number>(6 - s.length).fill(0)]));
      const source = k.noGrad(() => m.encode(src));
      const bos = k.full([srcs.length, 1], 1, { dtype: 'int32' });
      const beam = await beamSearch({ forward: (x) => ({ logits: m.decode(x, source) }) }, bos, null, {
        numBeams: 1,
        maxNewTokens: 10,
        lengthPenalty: 1,
        repetitionPenalty: 1,
        eos: [2],
        pad: 0,
        useCache: false,
      });
      const rows = beam.toArraySync() as number[][];
      for (const [i, g] of greedy.entries()) {
        const expected = g.finished ? [1, ...g.tokens, 2] : [1, ...g.tokens];
        expect(rows[i].slice(0, expected.length)).toEqual(expected);
      }
      k.dispose([src, source.memory, source.srcPaddingMask, bos, beam]);
      m.dispose();
    }
  });

  it('with 2 or 4 beams never scores below greedy (raw log-probability and length-normalised)', async () => {
    for (const seed of [0, 1, 2, 3]) {
      const m = randomModel(seed);
      for (const lengthPenalty of [0, 1]) {
        const greedy = await m.translate(sources(seed), { maxLength: 10, lengthPenalty });
        for (const numBeams of [2, 4]) {
          const beams = await m.translate(sources(seed), { maxLength: 10, lengthPenalty, numBeams });
          for (const [i, g] of greedy.entries())
            expect(beams[i].score).toBeGreaterThanOrEqual(g.score - 1e-5);
        }
      }
      m.dispose();
    }
  });

  it("scores a translation by the model's own log-probability of its tokens and EOS", async () => {
    const [t] = await model.translate([sources(2)[3]], { maxLength: 10, numBeams: 3, lengthPenalty: 0.5 });
    const targets = t.finished ? [...t.tokens, 2] : t.tokens;
    const src = ids([sources(2)[3]]);
    const tgt = ids([[1, ...targets.slice(0, -1)]]);
    const loss = k.noGrad(() => model.forward(src, tgt, { labels: ids([targets]) }).loss!.itemSync());
    expect(t.logProb).toBeCloseTo(-loss * targets.length, 4);
    expect(t.score).toBeCloseTo(t.logProb / targets.length ** 0.5, 6);
    k.dispose([src, tgt]);
  });

  it('returns one attention row per token, a distribution over the real source tokens', async () => {
    const srcs = sources(3);
    const out = await model.translate(srcs, { maxLength: 6 });
    for (const [i, t] of out.entries()) {
      expect(t.attention).toHaveLength(t.tokens.length);
      for (const row of t.attention) {
        expect(row).toHaveLength(srcs[i].length);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      }
    }
  });

  it('leaves no tensors behind', async () => {
    const before = k.memory().tensors;
    await model.translate(sources(0), { maxLength: 5, numBeams: 2 });
    await model.translate(sources(0), { maxLength: 5 });
    expect(k.memory().tensors).toBe(before);
  });
});

describe('Transformer errors', () => {
  it('name the op and the shapes', async () => {
    const [src, tgt] = [ids([[5, 9, 2]]), ids([[1, 7]])];
    expect(() => model.forward(k.zeros([1, 3]), tgt)).toThrow(
      /Transformer\.forward: expected integer srcIds \[batch, seq\], got float32 \[1, 3\]/,
    );
    expect(() =>
      model.forward(
        ids([
          [5, 2],
          [6, 2],
        ]),
        tgt,
      ),
    ).toThrow(/srcIds \[2, 2\] and tgtInputIds \[1, 2\] have different batch sizes/);
    expect(() => model.forward(src, ids([new Array<number>(21).fill(3)]))).toThrow(
      /tgtInputIds \[1, 21\] is longer than maxLength 20/,
    );
    expect(() => model.forward(src, tgt, { labels: ids([[7, 2, 0]]) })).toThrow(
      /labels must be \[1, 2\] like tgtInputIds, got \[1, 3\]/,
    );
    await expect(
      model.translate([
        [5, 2],
        [0, 0],
      ]),
    ).rejects.toThrow(/source row 1 of \[2, 2\] is all padding/);
    await expect(model.translate([5, 2], { maxLength: 20 })).rejects.toThrow(
      /maxLength must be an integer in \[1, 19\]/,
    );
    k.dispose([src, tgt]);
  });

  it('reject inconsistent configs with the field in the message', () => {
    expect(() => new TransformerConfig({ srcVocabSize: 9, tgtVocabSize: 9, dModel: 30, nhead: 4 })).toThrow(
      /dModel \(30\) must be divisible by nhead \(4\)/,
    );
    expect(() => new TransformerConfig({ srcVocabSize: 9, tgtVocabSize: 9, eosTokenId: 9 })).toThrow(
      /eosTokenId \(9\) must be an id in both vocabularies/,
    );
    expect(() => TransformerConfig.fromJSON({ srcVocabSize: 9 })).toThrow(/config\.json has no tgtVocabSize/);
  });
});
