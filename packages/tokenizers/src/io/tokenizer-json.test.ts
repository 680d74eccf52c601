import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BERT_VOCAB,
  GPT2_MERGES,
  GPT2_VOCAB,
  HARD_CASES,
  hf,
  toCodePointOffsets,
} from '../testing/fixtures.js';
import { Tokenizer } from '../tokenizer.js';
import { TokenizerFileError } from './errors.js';

type H = ReturnType<typeof hf>;
type HFTokenizer = InstanceType<H['Tokenizer']>;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'kiln-tokjson-'));
}

/** Has HF write its tokenizer.json, returns the text. */
function hfJson(t: HFTokenizer): string {
  const file = join(tmp(), 'tokenizer.json');
  t.save(file);
  return readFileSync(file, 'utf8');
}

function gpt2Vocab(): Record<string, number> {
  return JSON.parse(readFileSync(GPT2_VOCAB, 'utf8')) as Record<string, number>;
}

function gpt2Merges(): Array<[string, string]> {
  return readFileSync(GPT2_MERGES, 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.length > 0)
    .map((l) => l.split(' ') as [string, string]);
}

/** A small byte-fallback BPE vocabulary (Llama style): a few characters, merges, <0xNN> tokens. */
function llamaStyle(h: H): HFTokenizer {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  const chars = '▁abcdefghijklmnopqrstuvwxyzTHEW,.!';
  for (const c of chars) vocab[c] = Object.keys(vocab).length;
  const merges: Array<[string, string]> = [
    ['▁', 't'],
    ['h', 'e'],
    ['▁t', 'he'],
    ['▁', 'a'],
    ['i', 'n'],
    ['▁', 'w'],
  ];
  for (const [a, b] of merges) vocab[a + b] = Object.keys(vocab).length;
  const t = new h.Tokenizer(
    h.BPE.init(vocab, merges, { unkToken: '<unk>', byteFallback: true, fuseUnk: true }),
  );
  t.setNormalizer(h.sequenceNormalizer([h.prependNormalizer('▁'), h.replace(' ', '▁')]));
  t.setDecoder(
    h.sequenceDecoder([
      h.replaceDecoder('▁', ' '),
      h.byteFallbackDecoder(),
      h.fuseDecoder(),
      h.stripDecoder(' ', 1, 0),
    ]),
  );
  t.setPostProcessor(h.templateProcessing('<s> $A', '<s> $A <s> $B', [['<s>', 1]]));
  t.addSpecialTokens(['<s>', '</s>', '<unk>']);
  return t;
}

async function builders(): Promise<Array<[string, () => Promise<HFTokenizer>]>> {
  const h = hf();
  return [
    [
      'BERT (BertNormalizer, BertPreTokenizer, WordPiece, BertProcessing, WordPiece decoder)',
      async () => {
        const t = new h.Tokenizer(await h.WordPiece.fromFile(BERT_VOCAB, { unkToken: '[UNK]' }));
        t.setNormalizer(h.bertNormalizer({ lowercase: true }));
        t.setPreTokenizer(h.bertPreTokenizer());
        t.setPostProcessor(h.bertProcessing(['[SEP]', 102], ['[CLS]', 101]));
        t.setDecoder(h.wordPieceDecoder());
        t.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
        return t;
      },
    ],
    [
      'RoBERTa-style (ByteLevel with prefix space, RobertaProcessing, lstrip <mask>)',
      async () => {
        const t = new h.Tokenizer(h.BPE.init(gpt2Vocab(), gpt2Merges()));
        t.setPreTokenizer(h.byteLevelPreTokenizer(true, true));
        t.addSpecialTokens(['<s>', '</s>', '<pad>']);
        t.addAddedTokens([new h.AddedToken('<mask>', true, { leftStrip: true })]);
        const s = t.tokenToId('<s>') as number;
        const e = t.tokenToId('</s>') as number;
        t.setPostProcessor(h.robertaProcessing(['</s>', e], ['<s>', s]));
        return t;
      },
    ],
    [
      'GPT-2 (ByteLevel, BPE, ByteLevel post-processor with trimmed offsets)',
      async () => {
        const t = new h.Tokenizer(h.BPE.init(gpt2Vocab(), gpt2Merges()));
        t.setPreTokenizer(h.byteLevelPreTokenizer(false, true));
        t.setPostProcessor(h.byteLevelProcessing(true));
        t.addSpecialTokens(['<|endoftext|>']);
        return t;
      },
    ],
    [
      'Llama-style (Prepend/Replace, byte fallback, fused unk, Replace/ByteFallback/Fuse/Strip decoders)',
      async () => llamaStyle(h),
    ],
    [
      'WordPiece with NFKC, Lowercase, StripAccents, Whitespace, Digits, Punctuation, template',
      async () => {
        const t = new h.Tokenizer(await h.WordPiece.fromFile(BERT_VOCAB, { unkToken: '[UNK]' }));
        t.setNormalizer(
          h.sequenceNormalizer([
            h.nfkdNormalizer(),
            h.stripAccentsNormalizer(),
            h.lowercase(),
            h.nfcNormalizer(),
            h.stripNormalizer(),
          ]),
        );
        t.setPreTokenizer(
          h.sequencePreTokenizer([
            h.whitespacePreTokenizer(),
            h.digitsPreTokenizer(true),
            h.punctuationPreTokenizer('isolated'),
          ]),
        );
        t.setPostProcessor(
          h.templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [
            ['[CLS]', 101],
            ['[SEP]', 102],
          ]),
        );
        t.setDecoder(h.wordPieceDecoder('##', false));
        return t;
      },
    ],
    [
      'WordLevel with WhitespaceSplit, Split regex and Metaspace',
      async () => {
        const vocab: Record<string, number> = { '<unk>': 0 };
        for (const w of ['▁hello', '▁world', '▁the', '▁a', '▁is', '▁,', '▁!', '▁café'])
          vocab[w] = Object.keys(vocab).length;
        const t = new h.Tokenizer(h.WordLevel.init(vocab, { unkToken: '<unk>' }));
        t.setPreTokenizer(
          h.sequencePreTokenizer([
            h.splitPreTokenizer('\\s+|[,!]', 'isolated', false),
            h.whitespaceSplitPreTokenizer(),
            h.metaspacePreTokenizer('▁', 'always', true),
          ]),
        );
        t.setDecoder(h.metaspaceDecoder('▁', 'always', true));
        return t;
      },
    ],
  ];
}

const TEXTS = [
  ...HARD_CASES,
  'Hello world, the café is OPEN! <mask> and <s> and [MASK] in text',
  'the whale <|endoftext|> next document',
];

describe('tokenizer.json written by Hugging Face', async () => {
  for (const [name, build] of await builders()) {
    it(`${name}: loads, encodes and decodes like HF, and saves back the same JSON`, async () => {
      const ref = await build();
      const text = hfJson(ref);
      const tok = Tokenizer.fromJSON(JSON.parse(text), 'tokenizer.json');
      expect(JSON.parse(tok.toString())).toEqual(JSON.parse(text));
      // HF reads what we write and writes it back unchanged.
      const again = hf().Tokenizer.fromString(tok.toString());
      expect(JSON.parse(hfJson(again))).toEqual(JSON.parse(text));
      for (const s of TEXTS) {
        const theirs = await ref.encode(s);
        const ours = tok.encode(s);
        expect(Array.from(ours.ids), s).toEqual(theirs.getIds());
        expect(ours.tokens, s).toEqual(theirs.getTokens());
        expect(toCodePointOffsets(s, ours.offsets), s).toEqual(theirs.getOffsets());
        expect(Array.from(ours.typeIds)).toEqual(theirs.getTypeIds());
        expect(tok.decode(ours.ids), s).toBe(await ref.decode(theirs.getIds(), false));
        expect(tok.decode(ours.ids, { skipSpecialTokens: true }), s).toBe(
          await ref.decode(theirs.getIds(), true),
        );
      }
      const pair = await ref.encode('first part here', 'second, part');
      expect(Array.from(tok.encode('first part here', 'second, part').ids)).toEqual(pair.getIds());
      expect(Array.from(tok.encode('first part here', 'second, part').typeIds)).toEqual(pair.getTypeIds());
    });
  }

  it('accepts both merges spellings and keeps the one it read', () => {
    const h = hf();
    const ref = new h.Tokenizer(
      h.BPE.init({ a: 0, b: 1, c: 2, ab: 3, abc: 4 }, [
        ['a', 'b'],
        ['ab', 'c'],
      ]),
    );
    const pairs = JSON.parse(hfJson(ref));
    const strings = { ...pairs, model: { ...pairs.model, merges: ['a b', 'ab c'] } };
    for (const form of [pairs, strings]) {
      const tok = Tokenizer.fromJSON(form);
      expect(Array.from(tok.encode('abcab').ids)).toEqual([4, 3]);
      expect(JSON.parse(tok.toString())).toEqual(form);
    }
  });

  it('save(dir) writes tokenizer.json, vocab.json and merges.txt that HF reads', async () => {
    const h = hf();
    const gpt2 = (await builders()).find(([name]) => name.startsWith('GPT-2'));
    const tok = Tokenizer.fromJSON(
      JSON.parse(hfJson(await (gpt2 as [string, () => Promise<HFTokenizer>])[1]())),
    );
    const dir = tmp();
    await tok.save(dir);
    const fromFiles = await h.BPE.fromFile(join(dir, 'vocab.json'), join(dir, 'merges.txt'));
    const t = new h.Tokenizer(fromFiles);
    t.setPreTokenizer(h.byteLevelPreTokenizer(false, true));
    const s = 'Saved and reloaded: naïve 😀';
    expect(Array.from(tok.encode(s).ids)).toEqual((await t.encode(s)).getIds());
    const reloaded = await Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    expect(reloaded.toJSON()).toEqual(tok.toJSON());
  });
});

describe('malformed tokenizer.json', () => {
  const valid = (): Record<string, unknown> => ({
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b'] },
  });

  it.each([
    ['not JSON', '{"model": ', /<inline>:\d+: invalid JSON/],
    ['no model', '{"version": "1.0"}', /missing "model"/],
    [
      'unknown model type',
      JSON.stringify({ ...valid(), model: { type: 'Magic' } }),
      /model: unsupported model type "Magic"/,
    ],
    [
      'bad vocab id',
      JSON.stringify({ ...valid(), model: { type: 'BPE', vocab: { a: 'x' }, merges: [] } }),
      /model\.vocab: id of "a"/,
    ],
    [
      'bad merge',
      JSON.stringify({ ...valid(), model: { type: 'BPE', vocab: { a: 0 }, merges: ['a b c'] } }),
      /model\.merges\[0\]/,
    ],
    [
      'merge outside vocab',
      JSON.stringify({ ...valid(), model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: ['a b'] } }),
      /merge 1 \("a b"\) uses "ab"/,
    ],
    [
      'unknown normalizer',
      JSON.stringify({ ...valid(), normalizer: { type: 'Precompiled' } }),
      /normalizer: unsupported normalizer type "Precompiled"/,
    ],
    [
      'bad added token',
      JSON.stringify({ ...valid(), added_tokens: [{ id: 'x', content: 'y' }] }),
      /added_tokens\[0\]: "id" must be a number/,
    ],
  ])('%s: a clear error naming the file', async (_, text, message) => {
    const err = await Tokenizer.fromFile(text.includes('\n') ? text : `${text}\n`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenizerFileError);
    expect(String((err as Error).message)).toMatch(/^<inline>/);
    expect((err as Error).message).toMatch(message);
  });

  it('names the path of a missing file', async () => {
    await expect(Tokenizer.fromFile('/nonexistent/tokenizer.json')).rejects.toThrow(
      '/nonexistent/tokenizer.json (ENOENT)',
    );
  });
});
