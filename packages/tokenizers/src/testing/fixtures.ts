/**
 * Test fixtures: committed reference files under test-data/ and the references themselves
 * (tiktoken's WASM build, Hugging Face's Rust tokenizers). Only tests import this module.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const TEST_DATA = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-data');

export const GPT2_VOCAB = join(TEST_DATA, 'gpt2', 'vocab.json');
export const GPT2_MERGES = join(TEST_DATA, 'gpt2', 'merges.txt');
export const BERT_VOCAB = join(TEST_DATA, 'bert-base-uncased', 'vocab.txt');

/**
 * The parity corpus: $KILN_TOKENIZER_CORPUS when set (e.g. the 5 MB benchmark text), otherwise the
 * committed 200 KB public-domain excerpt of Moby Dick.
 */
export function corpus(): { text: string; name: string } {
  const path = process.env.KILN_TOKENIZER_CORPUS ?? join(TEST_DATA, 'moby-dick-excerpt.txt');
  return { text: readFileSync(path, 'utf8'), name: path };
}

interface TiktokenEncoding {
  encode(text: string, allowedSpecial?: string[] | 'all', disallowedSpecial?: string[] | 'all'): Uint32Array;
  decode(tokens: Uint32Array): Uint8Array;
}

/** tiktoken's gpt2 encoding (reference for GPT-2 ids). */
export function tiktokenGpt2(): TiktokenEncoding {
  const { get_encoding } = require('tiktoken') as { get_encoding(name: string): TiktokenEncoding };
  return get_encoding('gpt2');
}

/** Hugging Face tokenizers (the Rust core as a Node addon). */
export type HF = typeof import('tokenizers');
export function hf(): HF {
  return require('tokenizers') as HF;
}

/** Converts UTF-16 offsets into the code-point offsets HF's Node binding reports. */
export function toCodePointOffsets(text: string, offsets: Array<[number, number]>): Array<[number, number]> {
  const cp = new Int32Array(text.length + 1);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    cp[i] = n;
    const c = text.charCodeAt(i);
    const pair =
      c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (pair) {
      cp[i + 1] = n;
      i++;
    }
    n++;
  }
  cp[text.length] = n;
  return offsets.map(([s, e]) => [cp[s], cp[e]]);
}

/** Hard cases shared by the GPT-2 and BERT parity tests. */
export const HARD_CASES: readonly string[] = [
  '',
  ' ',
  'Hello world',
  'Hello, world! How are you?',
  '   leading and trailing spaces   ',
  'tabs\tand\nnewlines\r\n\r\nand\n\n\nruns',
  'whitespace runs:     five,\t\t\ttabs, \u00a0nbsp\u2003em\u3000ideographic',
  "contractions: I'm you're we've they'll she'd it's don't can't O'Neil 'quoted'",
  'curly apostrophes: I\u2019m you\u2019re it\u2019s \u2018single\u2019 \u201cdouble\u201d',
  "UPPER CASE CONTRACTIONS: I'M YOU'RE IT'S",
  'emoji: 😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️ 🇫🇷',
  'CJK: 日本語のテキスト、中文文本，한국어 텍스트',
  'control chars: \u0000\u0001\u0007\u001b[31m red \u007f\u0085 \u200b zero\u200dwidth \ufeffbom',
  `very long word: ${'a'.repeat(500)} ${'xyz'.repeat(300)}`,
  `${'supercalifragilisticexpialidocious'.repeat(20)}`,
  'numbers: 3.14159 1,000,000 2024-01-01 ٣٤٥ ⅻ ½',
  'accents: café naïve résumé Ångström Crème Brûlée façade',
  'combining: e\u0301 a\u0300 n\u0303 Z\u0351\u0352\u0353',
  'mixed: hello世界world123$%^&*()_+-=[]{}|;:",.<>/?`~',
  'code: function f(x) { return x * 2; } // comment\n\tif (a && b) {}',
  'url: https://example.com/path?query=1&b=2#frag user@example.org',
  'Greek ΣΊΣΥΦΟΣ σίσυφος, Cyrillic Привет мир, Arabic مرحبا, Hebrew שלום, Hindi नमस्ते',
  'math: ∑∫∂√∞ ≤ ≥ ≠ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛',
  "'s 't 're 've 'm 'll 'd ''s '''",
  '\n',
  '\u3000\u3000',
  'end with spaces    ',
];
