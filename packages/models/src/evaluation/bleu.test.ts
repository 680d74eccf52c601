// corpusBleu against published figures: the modified precisions of the BLEU paper's worked
// examples (Papineni et al. 2002, section 2.1) and the scores in NLTK's bleu_score doctests
// (nltk.translate.bleu_score.sentence_bleu / corpus_bleu, unsmoothed), plus a brevity-penalty case
// computed by hand from the definition.
import { describe, expect, it } from 'vitest';
import { corpusBleu } from './bleu.js';

const words = (s: string) => s.split(' ');

// NLTK's doctest sentences (the BLEU paper's example 1).
const hyp1 = words(
  'It is a guide to action which ensures that the military always obeys the commands of the party',
);
const ref1a = words(
  'It is a guide to action that ensures that the military will forever heed Party commands',
);
const ref1b = words(
  'It is the guiding principle which guarantees the military forces always being under the command of the Party',
);
const ref1c = words('It is the practical guide for the army always to heed the directions of the party');
const hyp2 = words('he read the book because he was interested in world history');
const ref2a = words('he was interested in world history because he read the book');

describe('corpusBleu', () => {
  it("gives the BLEU paper's modified unigram precisions (17/18, 8/14, and 2/7 for 'the the the ...')", () => {
    const candidate2 = words(
      'It is to insure the troops forever hearing the activity guidebook that party direct',
    );
    expect(corpusBleu([hyp1], [[ref1a, ref1b, ref1c]]).precisions[0]).toBeCloseTo(17 / 18, 12);
    expect(corpusBleu([candidate2], [[ref1a, ref1b, ref1c]]).precisions[0]).toBeCloseTo(8 / 14, 12);
    const the = corpusBleu(
      [words('the the the the the the the')],
      [[words('the cat is on the mat'), words('there is a cat on the mat')]],
    );
    expect(the.precisions[0]).toBeCloseTo(2 / 7, 12);
    expect(the.bleu).toBe(0);
  });

  it("matches NLTK's doctest sentence_bleu (0.5045666840058485) and corpus_bleu (0.5920778868801042)", () => {
    expect(corpusBleu([hyp1], [[ref1a, ref1b, ref1c]]).bleu).toBeCloseTo(0.5045666840058485, 12);
    const corpus = corpusBleu([hyp1, hyp2], [[ref1a, ref1b, ref1c], [ref2a]]);
    expect(corpus.bleu).toBeCloseTo(0.5920778868801042, 12);
    // Counts are pooled over the corpus before dividing, so this is not the mean of sentence scores.
    const mean = (corpusBleu([hyp1], [[ref1a, ref1b, ref1c]]).bleu + corpusBleu([hyp2], [[ref2a]]).bleu) / 2;
    expect(Math.abs(corpus.bleu - mean)).toBeGreaterThan(0.01);
  });

  it('applies the brevity penalty exp(1 - r/c) against the closest reference length, the shorter on ties', () => {
    // c = 4, references of length 6 and 2 are equally close: r = 2 (shorter), so no penalty.
    const tie = corpusBleu([words('a b c d')], [[words('a b c d e f'), words('a b')]]);
    expect(tie.referenceLength).toBe(2);
    expect(tie.brevityPenalty).toBe(1);
    // c = 4, one reference of length 6: every n-gram matches (p_n = 1), BLEU = BP = exp(1 - 6/4).
    const short = corpusBleu([words('a b c d')], [words('a b c d e f')]);
    expect(short.precisions).toEqual([1, 1, 1, 1]);
    expect(short.brevityPenalty).toBeCloseTo(Math.exp(-0.5), 15);
    expect(short.bleu).toBeCloseTo(Math.exp(-0.5), 15);
  });

  it('clips each n-gram at its largest count in any one reference, and honours maxOrder', () => {
    // Unigrams: "a" x3 clipped to 2 (reference 1), "b" x1 -> 3 of 4. Bigrams: "a a" x2 clipped to 1
    // (reference 1), "a b" x1 (reference 2) -> 2 of 3.
    const r = corpusBleu([words('a a a b')], [[words('a a c'), words('a b c')]], { maxOrder: 2 });
    expect(r.matches).toEqual([3, 2]);
    expect(r.totals).toEqual([4, 3]);
    expect(r.bleu).toBeCloseTo(Math.sqrt((3 / 4) * (2 / 3)), 15);
  });

  it('scores an identical corpus 1 and rejects mismatched lengths and bad orders by name', () => {
    expect(corpusBleu([hyp1, hyp2], [hyp1, hyp2]).bleu).toBe(1);
    expect(() => corpusBleu([hyp1], [])).toThrow(/corpusBleu: 1 hypotheses but 0 reference entries/);
    expect(() => corpusBleu([hyp1], [hyp1], { maxOrder: 0 })).toThrow(
      /corpusBleu: maxOrder must be a positive integer/,
    );
  });
});
