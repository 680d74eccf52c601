import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  corpus,
  GPT2_MERGES,
  GPT2_VOCAB,
  HARD_CASES,
  hf,
  tiktokenGpt2,
  toCodePointOffsets,
} from '../testing/fixtures.js';
import type { Tokenizer } from '../tokenizer.js';
import { ByteLevelBPE } from './byte-level-bpe.js';

describe('ByteLevelBPE (GPT-2)', () => {
  let tok: Tokenizer;
  const ref = tiktokenGpt2();
  const refIds = (s: string): number[] => Array.from(ref.encode(s, [], []));

  beforeAll(async () => {
    tok = await ByteLevelBPE.fromFiles(GPT2_VOCAB, GPT2_MERGES);
  });

  it.each(HARD_CASES.map((s) => [JSON.stringify(s).slice(0, 60), s]))(
    'ids match tiktoken gpt2: %s',
    (_, s) => {
      expect(Array.from(tok.encode(s).ids)).toEqual(refIds(s));
    },
  );

  it.each(HARD_CASES.map((s) => [JSON.stringify(s).slice(0, 60), s]))(
    'decode(encode(s)) === s: %s',
    (_, s) => {
      expect(tok.decode(tok.encode(s).ids)).toBe(s);
    },
  );

  it('ids match tiktoken and round-trip on the whole corpus', () => {
    const { text } = corpus();
    const ids = tok.encode(text).ids;
    const expected = ref.encode(text, [], []);
    expect(ids.length).toBe(expected.length);
    let firstDiff = -1;
    for (let i = 0; i < ids.length && firstDiff < 0; i++) if (ids[i] !== expected[i]) firstDiff = i;
    expect(firstDiff).toBe(-1);
    expect(tok.decode(ids)).toBe(text);
  });

  it('matches tiktoken line by line on the corpus (context-free words)', () => {
    const lines = corpus().text.split('\n').slice(0, 2000);
    for (const line of lines) expect(Array.from(tok.encode(line).ids)).toEqual(refIds(line));
  });

  it('adds no special tokens by default, as HF does for GPT-2', () => {
    const e = tok.encode('Hello');
    expect(Array.from(e.ids)).toEqual(refIds('Hello'));
    expect(Array.from(e.attentionMask)).toEqual([1]);
    expect(Array.from(e.typeIds)).toEqual([0]);
  });

  it('matches "<|endoftext|>" in raw text as the special token, like HF gpt2', () => {
    const text = 'a<|endoftext|>b';
    expect(Array.from(tok.encode(text).ids)).toEqual(Array.from(ref.encode(text, 'all')));
    expect(tok.decode(tok.encode(text).ids, { skipSpecialTokens: true })).toBe('ab');
  });

  it('lone surrogates encode as U+FFFD, as tiktoken does', () => {
    for (const s of ['a\ud800b', '\udc00', 'x\ud83d', '\ud83d\ud83d\ude00']) {
      expect(Array.from(tok.encode(s).ids)).toEqual(refIds(s));
    }
  });

  it('decodes invalid UTF-8 (split multi-byte characters) to U+FFFD like tiktoken + TextDecoder', () => {
    const ids = Array.from(tok.encode('😀').ids);
    expect(ids.length).toBeGreaterThan(1);
    for (const part of [ids.slice(0, 1), ids.slice(1), [ids[1], ids[0]]]) {
      const expected = new TextDecoder().decode(ref.decode(Uint32Array.from(part)));
      expect(tok.decode(part)).toBe(expected);
    }
  });

  it('offsets match HF tokenizers on the hard cases (converted to code points)', async () => {
    const { Tokenizer: HFTokenizer } = hf();
    const json = tok.toString();
    const reference = HFTokenizer.fromString(json);
    for (const s of HARD_CASES) {
      const ours = tok.encode(s);
      const theirs = await reference.encode(s);
      expect(Array.from(ours.ids)).toEqual(theirs.getIds());
      expect(ours.tokens).toEqual(theirs.getTokens());
      expect(toCodePointOffsets(s, ours.offsets)).toEqual(theirs.getOffsets());
    }
  });

  it('reads files given as contents (browser use)', async () => {
    const t = await ByteLevelBPE.fromFiles(readFileSync(GPT2_VOCAB), readFileSync(GPT2_MERGES, 'utf8'));
    expect(Array.from(t.encode('Hello there').ids)).toEqual(refIds('Hello there'));
  });

  it('names the file and line of a malformed merges.txt', async () => {
    const bad = '#version: 0.2\nĠ t\nĠ a b\n';
    await expect(ByteLevelBPE.fromFiles(GPT2_VOCAB, bad)).rejects.toThrow(
      '<inline>:3: expected "left right"',
    );
    await expect(ByteLevelBPE.fromFiles(GPT2_VOCAB, '#version: 0.2\nĠ zzzzqqq\n')).rejects.toThrow(
      /merge 1 .* not in the vocabulary/,
    );
    await expect(ByteLevelBPE.fromFiles('{"a": 0,\n"b": }', GPT2_MERGES)).rejects.toThrow(
      /<inline>:2: invalid JSON/,
    );
  });
});

describe('clear errors', () => {
  it('names the line of a bad id in vocab.json', async () => {
    await expect(ByteLevelBPE.fromFiles('{\n"a": 0,\n"b": -1\n}', '#version: 0.2\n')).rejects.toThrow(
      '<inline>:3: id of "b" must be a non-negative integer, got -1',
    );
  });

  it('padding without a pad token says how to set one', async () => {
    const tok = await ByteLevelBPE.fromFiles(GPT2_VOCAB, GPT2_MERGES);
    expect(() => tok.encodeBatch(['a', 'b c'], { padding: true })).toThrow(/no pad token.*setSpecialTokens/);
    tok.setSpecialTokens({ pad: '<|endoftext|>' });
    const batch = tok.encodeBatch(['a', 'b c'], { padding: true });
    expect(Array.from(batch[0].ids)).toEqual([64, 50256]);
    expect(Array.from(batch[0].attentionMask)).toEqual([1, 0]);
  });

  it('decoding an id outside the vocabulary is an error naming the id', async () => {
    const tok = await ByteLevelBPE.fromFiles(GPT2_VOCAB, GPT2_MERGES);
    expect(() => tok.decode([15496, 99999])).toThrow(
      'decode: id 99999 (position 1) is not in the vocabulary (size 50257)',
    );
  });
});
