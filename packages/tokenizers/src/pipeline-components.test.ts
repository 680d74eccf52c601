import { describe, expect, it } from 'vitest';
import { decodeTokens } from './decoders/decoder.js';
import { BPEDecoder, MetaspaceDecoder, WordPieceDecoder } from './decoders/subword.js';
import {
  ByteFallbackDecoder,
  DecoderSequence,
  FuseDecoder,
  ReplaceDecoder,
  StripDecoder,
} from './decoders/text-edits.js';
import { BertNormalizer } from './normalizers/bert.js';
import { Lowercase, StripAccents } from './normalizers/case-and-accents.js';
import { NormalizedString } from './normalizers/normalized-string.js';
import type { Normalizer } from './normalizers/normalizer.js';
import { NormalizerSequence, Prepend, Replace, Strip } from './normalizers/text-edits.js';
import { UnicodeNormalizer } from './normalizers/unicode-forms.js';
import { ByteLevelPreTokenizer } from './pre-tokenizers/byte-level.js';
import { Metaspace } from './pre-tokenizers/metaspace.js';
import type { PreTokenizer } from './pre-tokenizers/pre-tokenizer.js';
import { Split } from './pre-tokenizers/split.js';
import {
  BertPreTokenizer,
  CharDelimiterSplit,
  Digits,
  Punctuation,
  Whitespace,
  WhitespaceSplit,
} from './pre-tokenizers/whitespace.js';
import { HARD_CASES, hf, toCodePointOffsets } from './testing/fixtures.js';

const h = hf();
const TEXTS = [...HARD_CASES, 'ＡＢＣ ﬁ ㍿ Ⅻ ², e\u0301 Å Ω', 'İ ΣΑΣ ǅ Straße'];

const normalizers: Array<[string, Normalizer, { normalizeString(s: string): string }]> = [
  ['BertNormalizer', new BertNormalizer(), h.bertNormalizer()],
  ['BertNormalizer cased', new BertNormalizer({ lowercase: false }), h.bertNormalizer({ lowercase: false })],
  [
    'BertNormalizer strip accents only',
    new BertNormalizer({ lowercase: false, stripAccents: true, handleChineseChars: false }),
    h.bertNormalizer({ lowercase: false, stripAccents: true, handleChineseChars: false }),
  ],
  ['NFC', new UnicodeNormalizer('NFC'), h.nfcNormalizer()],
  ['NFD', new UnicodeNormalizer('NFD'), h.nfdNormalizer()],
  ['NFKC', new UnicodeNormalizer('NFKC'), h.nfkcNormalizer()],
  ['NFKD', new UnicodeNormalizer('NFKD'), h.nfkdNormalizer()],
  ['Lowercase', new Lowercase(), h.lowercase()],
  [
    'NFD + StripAccents',
    new NormalizerSequence([new UnicodeNormalizer('NFD'), new StripAccents()]),
    h.sequenceNormalizer([h.nfdNormalizer(), h.stripAccentsNormalizer()]),
  ],
  ['Strip', new Strip(true, true), h.stripNormalizer(true, true)],
  ['Replace', new Replace({ kind: 'string', source: ' ' }, '\u2581'), h.replace(' ', '\u2581')],
  ['Prepend', new Prepend('\u2581'), h.prependNormalizer('\u2581')],
];

describe('normalizers match HF normalize_str', () => {
  for (const [name, ours, theirs] of normalizers) {
    it(name, () => {
      for (const s of TEXTS) {
        const ns = NormalizedString.fromOriginal(s);
        ours.normalize(ns);
        expect(ns.normalized, JSON.stringify(s)).toBe(theirs.normalizeString(s));
      }
    });
  }
});

/** A pre-tokenizer HF builds from JSON (its Node API only makes literal-string Splits). */
function hfFromJSON(pre: object): { preTokenizeString(s: string): [string, [number, number]][] } {
  const json = {
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: pre,
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' },
  };
  return h.Tokenizer.fromString(JSON.stringify(json)).getPreTokenizer() as {
    preTokenizeString(s: string): [string, [number, number]][];
  };
}

const GPT4 =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const preTokenizers: Array<
  [string, PreTokenizer, { preTokenizeString(s: string): [string, [number, number]][] }]
> = [
  ['ByteLevel', new ByteLevelPreTokenizer({ addPrefixSpace: false }), h.byteLevelPreTokenizer(false, true)],
  [
    'ByteLevel with prefix space',
    new ByteLevelPreTokenizer({ addPrefixSpace: true }),
    h.byteLevelPreTokenizer(true, true),
  ],
  [
    'ByteLevel without regex',
    new ByteLevelPreTokenizer({ useRegex: false }),
    h.byteLevelPreTokenizer(false, false),
  ],
  ['Whitespace', new Whitespace(), h.whitespacePreTokenizer()],
  ['WhitespaceSplit', new WhitespaceSplit(), h.whitespaceSplitPreTokenizer()],
  ['BertPreTokenizer', new BertPreTokenizer(), h.bertPreTokenizer()],
  ['Punctuation', new Punctuation('Isolated'), h.punctuationPreTokenizer('isolated')],
  [
    'Punctuation merged with previous',
    new Punctuation('MergedWithPrevious'),
    h.punctuationPreTokenizer('mergedWithPrevious'),
  ],
  ['Digits', new Digits(false), h.digitsPreTokenizer(false)],
  ['Digits individual', new Digits(true), h.digitsPreTokenizer(true)],
  ['Metaspace', new Metaspace('\u2581', 'always', true), h.metaspacePreTokenizer('\u2581', 'always', true)],
  [
    'Metaspace no split',
    new Metaspace('\u2581', 'never', false),
    h.metaspacePreTokenizer('\u2581', 'never', false),
  ],
  [
    'Split regex removed',
    new Split({ kind: 'regex', source: '\\s+' }, 'Removed'),
    hfFromJSON({ type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Removed', invert: false }),
  ],
  [
    'Split string merged with next',
    new Split({ kind: 'string', source: 'a' }, 'MergedWithNext'),
    h.splitPreTokenizer('a', 'mergedWithNext'),
  ],
  [
    'Split regex contiguous inverted',
    new Split({ kind: 'regex', source: '\\p{L}' }, 'Contiguous', true),
    hfFromJSON({ type: 'Split', pattern: { Regex: '\\p{L}' }, behavior: 'Contiguous', invert: true }),
  ],
  [
    'Split GPT-4 style regex',
    new Split({ kind: 'regex', source: GPT4 }, 'Isolated'),
    hfFromJSON({ type: 'Split', pattern: { Regex: GPT4 }, behavior: 'Isolated', invert: false }),
  ],
  ['CharDelimiterSplit', new CharDelimiterSplit('e'), h.charDelimiterSplit('e')],
];

describe('pre-tokenizers match HF pre_tokenize_str (pieces and offsets)', () => {
  for (const [name, ours, theirs] of preTokenizers) {
    it(name, () => {
      for (const s of TEXTS) {
        const pieces = ours.preTokenize([NormalizedString.fromOriginal(s)]);
        const got = pieces.map((p) => [
          p.normalized,
          toCodePointOffsets(s, [p.originalRange(0, p.length)])[0],
        ]);
        expect(got, JSON.stringify(s)).toEqual(theirs.preTokenizeString(s));
      }
    });
  }
});

describe('decoders match HF decode', () => {
  const tokens = [
    '▁Hello',
    '▁wor',
    'ld',
    '##s',
    '<0xE2>',
    '<0x82>',
    '<0xAC>',
    '<0xFF>',
    '▁',
    ' .',
    "'s",
    'end</w>',
    'x',
  ];
  const cases: Array<[string, Parameters<typeof decodeTokens>[0], { decode(t: string[]): string }]> = [
    ['WordPiece', new WordPieceDecoder('##', true), h.wordPieceDecoder('##', true)],
    ['WordPiece without cleanup', new WordPieceDecoder('##', false), h.wordPieceDecoder('##', false)],
    [
      'Metaspace',
      new MetaspaceDecoder('\u2581', 'always', true),
      h.metaspaceDecoder('\u2581', 'always', true),
    ],
    ['BPEDecoder', new BPEDecoder('</w>'), h.bpeDecoder('</w>')],
    [
      'ByteFallback + Fuse',
      new DecoderSequence([new ByteFallbackDecoder(), new FuseDecoder()]),
      h.sequenceDecoder([h.byteFallbackDecoder(), h.fuseDecoder()]),
    ],
    [
      'Replace + Strip',
      new DecoderSequence([
        new ReplaceDecoder({ kind: 'string', source: '▁' }, ' '),
        new StripDecoder(' ', 1, 0),
      ]),
      h.sequenceDecoder([h.replaceDecoder('▁', ' '), h.stripDecoder(' ', 1, 0)]),
    ],
  ];
  for (const [name, ours, theirs] of cases) {
    it(name, () => {
      for (let n = 0; n <= tokens.length; n++) {
        const t = tokens.slice(n);
        expect(decodeTokens(ours, t), JSON.stringify(t)).toBe(theirs.decode(t));
      }
    });
  }
});
