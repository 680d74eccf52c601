import '@kiln/backend-cpu';
import type { Tensor } from '@kiln/core';
import { describe, expect, it } from 'vitest';
import { Random } from '../random/pcg32.js';
import { LanguageModelLoader, seqDataIterRandom, seqDataIterSequential } from './language-model.js';
import { padSequences, truncatePad } from './pad.js';
import { buildTranslationArray, normalizeTranslationText, tokenizeTranslationPairs } from './translation.js';
import { Vocab } from './vocab.js';

const rows = (t: Tensor) => t.toArraySync() as number[][];

describe('Vocab', () => {
  // Reference: d2l 0.17's Vocab run with /usr/bin/python3 on these lines prints
  //   Vocab(lines, reserved_tokens=['<pad>','<bos>','<eos>']).idx_to_token
  //     -> ['<unk>', '<pad>', '<bos>', '<eos>', 'dog', 'the', 'cat', 'sat', 'a']
  //   Vocab(lines, min_freq=2).idx_to_token -> ['<unk>', 'dog', 'the', 'cat', 'sat']
  //   token_freqs -> [('dog', 3), ('the', 2), ('cat', 2), ('sat', 2), ('a', 1)]
  // (counts: dog 3; the, cat, sat 2 each, kept in order of first appearance; a 1).
  const lines = [
    ['the', 'cat', 'sat'],
    ['the', 'dog', 'sat'],
    ['a', 'cat'],
    ['dog', 'dog'],
  ];

  it("orders tokens as d2l's Vocab: <unk>, reserved, then by frequency with ties in first-seen order", () => {
    const vocab = new Vocab(lines, { reservedTokens: ['<pad>', '<bos>', '<eos>'] });
    expect(vocab.tokens).toEqual(['<unk>', '<pad>', '<bos>', '<eos>', 'dog', 'the', 'cat', 'sat', 'a']);
    expect(vocab.tokenFreqs).toEqual([
      ['dog', 3],
      ['the', 2],
      ['cat', 2],
      ['sat', 2],
      ['a', 1],
    ]);
    expect(vocab.length).toBe(9);
  });

  it('leaves out tokens below minFreq; they map to <unk>', () => {
    const vocab = new Vocab(lines, { minFreq: 2 });
    expect(vocab.tokens).toEqual(['<unk>', 'dog', 'the', 'cat', 'sat']);
    expect(vocab.toIndices(['the', 'a', 'zebra'])).toEqual([2, 0, 0]);
    expect(vocab.toTokens([1, 4])).toEqual(['dog', 'sat']);
    expect(vocab.unk).toBe(0);
  });

  it('without an unknown token, an unknown lookup names the token and its position', () => {
    const vocab = new Vocab(lines, { unkToken: null });
    expect(vocab.tokens[0]).toBe('dog');
    expect(vocab.unk).toBeUndefined();
    expect(() => vocab.toIndices(['the', 'zebra'])).toThrow(
      'Vocab.toIndices: unknown token "zebra" at position 1, and this vocabulary has no unknown token',
    );
    expect(() => vocab.indexOf('zebra')).toThrow('Vocab.indexOf: unknown token "zebra"');
    expect(() => vocab.tokenAt(99)).toThrow(
      'Vocab.tokenAt: index 99 is out of range for a vocabulary of 5 tokens',
    );
  });

  it('does not duplicate reserved tokens that also occur in the corpus', () => {
    const vocab = new Vocab(['<eos>', 'x', '<eos>'], { reservedTokens: ['<eos>'] });
    expect(vocab.tokens).toEqual(['<unk>', '<eos>', 'x']);
  });

  it('round-trips through its token list', () => {
    const vocab = new Vocab(lines, { reservedTokens: ['<pad>'] });
    const again = Vocab.fromTokens(vocab.tokens);
    expect(again.tokens).toEqual(vocab.tokens);
    expect(again.indexOf('never-seen')).toBe(0);
    expect(() => Vocab.fromTokens(['a', 'b', 'a'])).toThrow(
      'Vocab.fromTokens: token "a" appears at index 0 and 2',
    );
  });
});

describe('padSequences', () => {
  // Keras' documented examples for tf.keras.utils.pad_sequences([[1], [2, 3], [4, 5, 6]]):
  //   default (padding='pre')  -> [[0, 0, 1], [0, 2, 3], [4, 5, 6]]
  //   value=-1                 -> [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]
  //   padding='post'           -> [[1, 0, 0], [2, 3, 0], [4, 5, 6]]
  //   maxlen=2 (truncating='pre') -> [[0, 1], [2, 3], [5, 6]]
  const seqs = [[1], [2, 3], [4, 5, 6]];

  it("matches Keras' documented examples", () => {
    expect(rows(padSequences(seqs, { padding: 'pre' }))).toEqual([
      [0, 0, 1],
      [0, 2, 3],
      [4, 5, 6],
    ]);
    expect(rows(padSequences(seqs, { padding: 'pre', value: -1 }))).toEqual([
      [-1, -1, 1],
      [-1, 2, 3],
      [4, 5, 6],
    ]);
    expect(rows(padSequences(seqs, { padding: 'post' }))).toEqual([
      [1, 0, 0],
      [2, 3, 0],
      [4, 5, 6],
    ]);
    expect(rows(padSequences(seqs, { padding: 'pre', truncating: 'pre', maxLen: 2 }))).toEqual([
      [0, 1],
      [2, 3],
      [5, 6],
    ]);
  });

  it('pads and truncates at the end by default (PyTorch pad_sequence, batch first)', () => {
    const t = padSequences(seqs, { maxLen: 2 });
    expect(t.dtype).toBe('int32');
    expect(rows(t)).toEqual([
      [1, 0],
      [2, 3],
      [4, 5],
    ]);
  });

  it("truncatePad is d2l's truncate_pad", () => {
    // d2l: truncate_pad(src_vocab[source[0]], 10, src_vocab['<pad>']) pads "go ." -> [.., .., pad x8].
    expect(truncatePad([47, 4], 10, 1)).toEqual([47, 4, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(truncatePad([1, 2, 3], 2, 0)).toEqual([1, 2]);
  });
});

describe('language-model batches (d2l 9.3) on my_seq = range(35), batch_size 2, num_steps 5', () => {
  const corpus = Array.from({ length: 35 }, (_, i) => i);

  it('sequential partitioning matches d2l with offset 0', () => {
    // offset 0: num_tokens = ((35 - 0 - 1) // 2) * 2 = 34; Xs = corpus[0:34] as 2 rows of 17:
    //   row 0 = 0..16, row 1 = 17..33; num_batches = 17 // 5 = 3; batch i = columns 5i..5i+4.
    // d2l's printed output (its offset was 0 there):
    //   X [[0..4], [17..21]]   Y [[1..5], [18..22]]
    //   X [[5..9], [22..26]]   Y [[6..10], [23..27]]
    //   X [[10..14], [27..31]] Y [[11..15], [28..32]]
    const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);
    const batches = [...seqDataIterSequential(corpus, 2, 5, { offset: 0 })].map(([x, y]) => [
      rows(x),
      rows(y),
    ]);
    expect(batches).toEqual([
      [
        [range(0, 5), range(17, 5)],
        [range(1, 5), range(18, 5)],
      ],
      [
        [range(5, 5), range(22, 5)],
        [range(6, 5), range(23, 5)],
      ],
      [
        [range(10, 5), range(27, 5)],
        [range(11, 5), range(28, 5)],
      ],
    ]);
  });

  it('sequential partitioning with offset 4 (d2l draws 0..num_steps)', () => {
    // num_tokens = ((35 - 4 - 1) // 2) * 2 = 30: rows 4..18 and 19..33 (15 each) -> 3 batches.
    const batches = [...seqDataIterSequential(corpus, 2, 5, { offset: 4 })].map(([x]) =>
      rows(x).map((r) => r[0]),
    );
    expect(batches).toEqual([
      [4, 19],
      [9, 24],
      [14, 29],
    ]);
  });

  it('random sampling deals out the d2l subsequences, each once, in a shuffled order', () => {
    // offset 3: corpus[3:] has 32 tokens; num_subseqs = (32 - 1) // 5 = 6 starting at 3, 8, ..., 28;
    // num_batches = 6 // 2 = 3. Every X is a run of 5 consecutive numbers and Y = X + 1.
    const seen: number[] = [];
    const batches = [...seqDataIterRandom(corpus, 2, 5, { offset: 3, rng: new Random(1) })];
    expect(batches).toHaveLength(3);
    for (const [x, y] of batches) {
      for (const [r, row] of rows(x).entries()) {
        expect(row).toEqual(Array.from({ length: 5 }, (_, i) => row[0] + i));
        expect(rows(y)[r]).toEqual(row.map((v) => v + 1));
        seen.push(row[0]);
      }
    }
    expect(seen.sort((a, b) => a - b)).toEqual([3, 8, 13, 18, 23, 28]);
  });

  it('draws the offset from the given generator: 0..num_steps-1 (random) and 0..num_steps (sequential)', () => {
    const firsts = new Set<number>();
    for (let s = 0; s < 200; s++) {
      const [[x]] = [...seqDataIterSequential(corpus, 1, 5, { rng: new Random(s) })];
      firsts.add(rows(x)[0][0]);
    }
    expect([...firsts].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('LanguageModelLoader repeats an epoch for the same seed and varies across epochs', () => {
    const firstColumn = (l: LanguageModelLoader) => [...l].map(([x]) => rows(x).map((r) => r[0]));
    const a = new LanguageModelLoader(corpus, { batchSize: 2, numSteps: 5, seed: 5 });
    const b = new LanguageModelLoader(corpus, { batchSize: 2, numSteps: 5, seed: 5 });
    const epochs = Array.from({ length: 4 }, () => firstColumn(a));
    expect(firstColumn(b)).toEqual(epochs[0]);
    expect(new Set(epochs.map((e) => JSON.stringify(e))).size).toBeGreaterThan(1);
  });
});

describe('translation pairs (d2l 10.5)', () => {
  // The first lines of d2l's fra-eng data (Tatoeba via manythings.org), with the narrow no-break
  // space (U+202F) French puts before "!" and "?".
  const raw = 'Go.\tVa !\nHi.\tSalut !\nRun!\tCours\u202f!\nWho?\tQui ?\nWow!\tÇa alors\u202f!\n';

  it("normalizes as d2l's preprocess_nmt, plus NFD accent stripping", () => {
    // d2l prints: "go .\tva !\nhi .\tsalut !\nrun !\tcours !\nwho ?\tqui ?\nwow !\tça alors !"
    expect(normalizeTranslationText(raw, { stripAccents: false })).toBe(
      'go .\tva !\nhi .\tsalut !\nrun !\tcours !\nwho ?\tqui ?\nwow !\tça alors !\n',
    );
    expect(normalizeTranslationText('Wow!\tÇa alors\u202f!')).toBe('wow !\tca alors !');
    expect(normalizeTranslationText('Crème Brûlée, s’il vous plaît.')).toBe(
      'creme brulee , s’il vous plait .',
    );
  });

  it("tokenizes pairs as d2l's tokenize_nmt", () => {
    const { source, target } = tokenizeTranslationPairs(raw, { numExamples: 4 });
    expect(source).toEqual([
      ['go', '.'],
      ['hi', '.'],
      ['run', '!'],
      ['who', '?'],
    ]);
    expect(target).toEqual([
      ['va', '!'],
      ['salut', '!'],
      ['cours', '!'],
      ['qui', '?'],
    ]);
    expect(() => tokenizeTranslationPairs('one column only')).toThrow(
      'tokenizeTranslationPairs: line 1 has 1 tab-separated field(s)',
    );
  });

  it("builds padded arrays with <eos> and valid lengths as d2l's build_array_nmt", () => {
    const { source } = tokenizeTranslationPairs(raw);
    const vocab = new Vocab(source, { reservedTokens: ['<pad>', '<bos>', '<eos>'] });
    const { tokens, validLengths } = buildTranslationArray(source, vocab, 4);
    const [pad, eos, go, dot] = ['<pad>', '<eos>', 'go', '.'].map((t) => vocab.indexOf(t));
    expect(rows(tokens)[0]).toEqual([go, dot, eos, pad]);
    expect(Array.from(validLengths.dataSync() as ArrayLike<number>)).toEqual([3, 3, 3, 3, 3]);
    // Truncation cuts <eos> off, as truncate_pad does; <bos> is prepended on request.
    const short = buildTranslationArray([['go', '.']], vocab, 2, { bos: true });
    expect(rows(short.tokens)).toEqual([[vocab.indexOf('<bos>'), go]]);
    expect(() => buildTranslationArray(source, new Vocab(source), 4)).toThrow(
      'buildTranslationArray: the vocabulary has no padding token "<pad>" (add it to reservedTokens)',
    );
  });
});
