import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HARD_CASES, hf, toCodePointOffsets } from '../testing/fixtures.js';
import { Tokenizer } from '../tokenizer.js';

/** A small SentencePiece-like vocabulary: characters, frequent pieces, equal-score ties. */
function pieces(byteFallback: boolean): Array<[string, number]> {
  const out: Array<[string, number]> = [['<unk>', 0]];
  if (byteFallback)
    for (let b = 0; b < 256; b++) out.push([`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, -20]);
  const words = [
    '▁the',
    '▁a',
    '▁whale',
    '▁wh',
    'ale',
    '▁is',
    'ing',
    'er',
    'th',
    'he',
    '▁ca',
    'fé',
    '▁café',
    'é',
    '日本',
    '本',
    '😀',
  ];
  words.forEach((w, i) => {
    out.push([w, -2 - (i % 5) * 0.5]);
  });
  const chars = "▁abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.,!?'0123456789日";
  for (const c of chars) out.push([c, -6]);
  return out;
}

describe('Unigram model against HF', () => {
  for (const byteFallback of [false, true]) {
    it(`Viterbi segmentation, unknown fusion and offsets match (byteFallback: ${byteFallback})`, async () => {
      const h = hf();
      const ref = new h.Tokenizer(h.Unigram.init(pieces(byteFallback), { unkId: 0, byteFallback }));
      ref.setPreTokenizer(h.metaspacePreTokenizer());
      ref.setDecoder(h.metaspaceDecoder());
      const text = hfJsonOf(ref);
      const tok = Tokenizer.fromJSON(JSON.parse(text));
      expect(JSON.parse(tok.toString())).toEqual(JSON.parse(text));
      for (const s of [...HARD_CASES, 'the whale is a café 日本 whaling', 'The Whale!']) {
        const theirs = await ref.encode(s);
        const ours = tok.encode(s);
        expect(Array.from(ours.ids), s).toEqual(theirs.getIds());
        expect(ours.tokens, s).toEqual(theirs.getTokens());
        expect(toCodePointOffsets(s, ours.offsets), s).toEqual(theirs.getOffsets());
        expect(tok.decode(ours.ids), s).toBe(await ref.decode(theirs.getIds(), false));
      }
    });
  }
});

function hfJsonOf(t: { save(path: string): void }): string {
  const file = join(mkdtempSync(join(tmpdir(), 'kiln-unigram-')), 'tokenizer.json');
  t.save(file);
  return readFileSync(file, 'utf8');
}
