import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BERT_VOCAB, corpus, HARD_CASES, hf, toCodePointOffsets } from '../testing/fixtures.js';
import type { Tokenizer } from '../tokenizer.js';
import { WordPiece } from './wordpiece.js';

type HFTokenizer = InstanceType<ReturnType<typeof hf>['Tokenizer']>;

/** HF's own BertWordPieceTokenizer pipeline, assembled from the Rust components. */
async function hfBert(): Promise<HFTokenizer> {
  const h = hf();
  const model = await h.WordPiece.fromFile(BERT_VOCAB, { unkToken: '[UNK]' });
  const t = new h.Tokenizer(model);
  t.setNormalizer(h.bertNormalizer({ lowercase: true }));
  t.setPreTokenizer(h.bertPreTokenizer());
  t.setPostProcessor(h.bertProcessing(['[SEP]', 102], ['[CLS]', 101]));
  t.setDecoder(h.wordPieceDecoder('##', true));
  t.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  return t;
}

const EXTRA_CASES = [
  'The [MASK] sat on the mat. [SEP] trailing',
  'Hello [CLS]world[SEP] again',
  '[mask] lowercase is not special',
  'unaffable unbelievably antidisestablishmentarianism',
  'Straße ﬁnal ﬀ ǅ İstanbul ΣΊΣΥΦΟΣ',
  '\u00a0non-breaking\u2028line\u2029para',
];

describe('WordPiece (bert-base-uncased) against HF tokenizers', () => {
  let tok: Tokenizer;
  let ref: HFTokenizer;

  beforeAll(async () => {
    tok = await WordPiece.fromVocab(BERT_VOCAB, { lowercase: true });
    ref = await hfBert();
  });

  const cases = [...HARD_CASES, ...EXTRA_CASES].map((s) => [JSON.stringify(s).slice(0, 60), s]);

  it.each(cases)('ids, tokens, offsets, type ids and masks match: %s', async (_, s) => {
    const ours = tok.encode(s);
    const theirs = await ref.encode(s);
    expect(Array.from(ours.ids)).toEqual(theirs.getIds());
    expect(ours.tokens).toEqual(theirs.getTokens());
    expect(toCodePointOffsets(s, ours.offsets)).toEqual(theirs.getOffsets());
    expect(Array.from(ours.typeIds)).toEqual(theirs.getTypeIds());
    expect(Array.from(ours.attentionMask)).toEqual(theirs.getAttentionMask());
    expect(Array.from(ours.specialTokensMask)).toEqual(theirs.getSpecialTokensMask());
  });

  it.each(cases.slice(0, 12))('pairs match: %s', async (_, s) => {
    const second = 'And a second sentence, with café and 😀.';
    const ours = tok.encode(s, second);
    const theirs = await ref.encode(s, second);
    expect(Array.from(ours.ids)).toEqual(theirs.getIds());
    expect(ours.tokens).toEqual(theirs.getTokens());
    expect(Array.from(ours.typeIds)).toEqual(theirs.getTypeIds());
    const ourOffsets = ours.offsets;
    const seq = ours.sequenceIds;
    const converted = ourOffsets.map((o, i) => toCodePointOffsets(seq[i] === 1 ? second : s, [o])[0]);
    expect(converted).toEqual(theirs.getOffsets());
  });

  it.each(cases)('decode matches HF: %s', async (_, s) => {
    const ids = Array.from(tok.encode(s).ids);
    expect(tok.decode(ids)).toBe(await ref.decode(ids, false));
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe(await ref.decode(ids, true));
  });

  it('matches HF on every line of the corpus', async () => {
    const lines = corpus()
      .text.split('\n')
      .filter((l) => l.length > 0)
      .slice(0, 1500);
    const theirs = await ref.encodeBatch(lines);
    lines.forEach((line, i) => {
      expect(Array.from(tok.encode(line).ids)).toEqual(theirs[i].getIds());
    });
  });

  it('without special tokens, as HF with addSpecialTokens: false', async () => {
    const s = 'Hello world';
    const theirs = await ref.encode(s, null, { addSpecialTokens: false });
    expect(Array.from(tok.encode(s, { addSpecialTokens: false }).ids)).toEqual(theirs.getIds());
    const pair = await ref.encode(s, 'again', { addSpecialTokens: false });
    const ours = tok.encode(s, 'again', { addSpecialTokens: false });
    expect(Array.from(ours.ids)).toEqual(pair.getIds());
    expect(Array.from(ours.typeIds)).toEqual(pair.getTypeIds());
  });

  it('truncation and padding match HF', async () => {
    const a = 'the quick brown fox jumps over the lazy dog '.repeat(5);
    const b = 'a short one';
    for (const strategy of ['longest_first', 'only_first'] as const) {
      const h = await hfBert();
      h.setTruncation(16, { strategy: strategy === 'longest_first' ? 'LongestFirst' : 'OnlyFirst' } as never);
      h.setPadding({ maxLength: 20 });
      const theirs = await h.encode(a, b);
      const ours = tok.encode(a, b, {
        truncation: { strategy, maxLength: 16 },
        padding: 'max_length',
        maxLength: 20,
      });
      // Padding length and truncation length differ here on purpose; HF pads to its fixed 20.
      expect(Array.from(ours.ids)).toEqual(theirs.getIds());
      expect(Array.from(ours.attentionMask)).toEqual(theirs.getAttentionMask());
      expect(Array.from(ours.typeIds)).toEqual(theirs.getTypeIds());
    }
  });

  it('batch padding to the longest, left or right', () => {
    const batch = tok.encodeBatch(['short', 'a much longer sentence here'], { padding: true });
    expect(batch[0].length).toBe(batch[1].length);
    expect(Array.from(batch[0].attentionMask)).toEqual([1, 1, 1, 0, 0, 0, 0]);
    expect(batch[0].ids[batch[0].length - 1]).toBe(tok.specialTokenId('pad'));
    const left = tok.encodeBatch(['short', 'a much longer sentence here'], {
      padding: { direction: 'left' },
    });
    expect(Array.from(left[0].attentionMask)).toEqual([0, 0, 0, 0, 1, 1, 1]);
    expect(left[0].tokens.slice(0, 4)).toEqual(['[PAD]', '[PAD]', '[PAD]', '[PAD]']);
  });

  it('reads vocab.txt contents (browser use) and names the file of a bad vocab', async () => {
    const t = await WordPiece.fromVocab(readFileSync(BERT_VOCAB, 'utf8'));
    expect(Array.from(t.encode('hello').ids)).toEqual(Array.from(tok.encode('hello').ids));
    await expect(WordPiece.fromVocab('a\nb\nc\n')).rejects.toThrow(/\[SEP\] and \[CLS\]/);
  });
});

describe('truncation with stride (overflowing windows) against HF Encoding.truncate', () => {
  // HF's Node binding drops the stride in `setTruncation`, so its core `Encoding.truncate` is the
  // reference here.
  it.each(['right', 'left'] as const)('direction %s', async (direction) => {
    const tok = await WordPiece.fromVocab(BERT_VOCAB);
    const ref = await hfBert();
    const text = 'one two three four five six seven eight nine ten eleven twelve thirteen';
    const theirs = await ref.encode(text, null, { addSpecialTokens: false });
    theirs.truncate(6, 2, direction);
    const ours = tok.encode(text, {
      addSpecialTokens: false,
      truncation: { maxLength: 6, stride: 2, direction },
    });
    expect(Array.from(ours.ids)).toEqual(theirs.getIds());
    const overflow = theirs.getOverflowing();
    expect(ours.overflowing.map((o) => o.tokens)).toEqual(overflow.map((o) => o.getTokens()));
    // With special tokens every window is post-processed: [CLS] window [SEP].
    const withSpecials = tok.encode(text, { truncation: { maxLength: 8, stride: 2, direction } });
    expect(withSpecials.overflowing.map((o) => o.tokens)).toEqual(
      overflow.map((o) => ['[CLS]', ...o.getTokens(), '[SEP]']),
    );
  });
});
