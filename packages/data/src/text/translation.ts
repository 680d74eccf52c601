// Sentence-pair preprocessing for machine translation, after d2l.ai section 10.5 ("Machine
// Translation and the Dataset": preprocess_nmt, tokenize_nmt, build_array_nmt) and the accent
// stripping of PyTorch's seq2seq tutorial (unicodeToAscii: NFD, then drop combining marks).

import type { Device, Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { truncatePad } from './pad.js';
import type { Vocab } from './vocab.js';

export interface NormalizeOptions {
  /** Lowercase (default true). */
  lowercase?: boolean;
  /** Decompose (NFD) and drop combining marks: "Ça" -> "Ca" (default true). */
  stripAccents?: boolean;
  /** Characters that get a space before them when they follow a non-space (default ',.!?'). */
  punctuation?: string;
}

/**
 * d2l's preprocess_nmt: no-break spaces (U+00A0, U+202F) become spaces, then optional accent
 * stripping and lowercasing, then a space is inserted before each punctuation mark that follows a
 * non-space character: "Go." -> "go .", "Ça alors !" -> "ca alors !".
 */
export function normalizeTranslationText(text: string, options: NormalizeOptions = {}): string {
  const { lowercase = true, stripAccents = true, punctuation = ',.!?' } = options;
  let s = text.replace(/[\u202f\u00a0]/g, ' ');
  if (stripAccents) s = s.normalize('NFD').replace(/\p{Mn}/gu, '');
  if (lowercase) s = s.toLowerCase();
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (i > 0 && punctuation.includes(c) && s[i - 1] !== ' ') out += ' ';
    out += c;
  }
  return out;
}

export interface TranslationPairs {
  source: string[][];
  target: string[][];
}

export interface TokenizePairsOptions extends NormalizeOptions {
  /** Keep only the first n pairs. */
  numExamples?: number;
  /** Normalize with normalizeTranslationText first (default true). */
  normalize?: boolean;
  /** For tab-separated text: the columns of the source and target sentences (default 0 and 1). */
  columns?: readonly [source: number, target: number];
}

/**
 * Word tokens of sentence pairs (d2l's tokenize_nmt): pairs, or tab-separated lines
 * "source\ttarget[\t...]" (an Anki/Tatoeba file). Tokens are split on spaces.
 */
export function tokenizeTranslationPairs(
  input: string | readonly (readonly [string, string])[],
  options: TokenizePairsOptions = {},
): TranslationPairs {
  const { numExamples = Infinity, normalize = true, columns = [0, 1] } = options;
  let pairs: (readonly [string, string])[];
  if (typeof input === 'string') {
    const lines = input.split(/\r?\n/);
    pairs = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      const parts = line.split('\t');
      if (parts.length <= Math.max(columns[0], columns[1])) {
        throw new Error(
          `tokenizeTranslationPairs: line ${i + 1} has ${parts.length} tab-separated field(s), but column ${Math.max(columns[0], columns[1])} is needed`,
        );
      }
      pairs.push([parts[columns[0]], parts[columns[1]]]);
    });
  } else pairs = [...input];
  const source: string[][] = [];
  const target: string[][] = [];
  const split = (s: string) =>
    (normalize ? normalizeTranslationText(s, options) : s).split(' ').filter((t) => t !== '');
  for (const [src, tgt] of pairs.slice(0, numExamples)) {
    source.push(split(src));
    target.push(split(tgt));
  }
  return { source, target };
}

export interface TranslationArrayOptions {
  /** Prepend '<bos>' (default false: in d2l the decoder adds it). */
  bos?: boolean;
  /** Append '<eos>' (default true). */
  eos?: boolean;
  /** Names of the special tokens (defaults '<pad>', '<bos>', '<eos>'). */
  padToken?: string;
  bosToken?: string;
  eosToken?: string;
  device?: Device;
}

/**
 * d2l's build_array_nmt: each line -> indices (+ '<eos>'), truncated or padded with '<pad>' to
 * numSteps. validLengths counts the non-pad tokens of each row.
 */
export function buildTranslationArray(
  lines: readonly (readonly string[])[],
  vocab: Vocab,
  numSteps: number,
  options: TranslationArrayOptions = {},
): { tokens: Tensor; validLengths: Tensor } {
  const { bos = false, eos = true, padToken = '<pad>', bosToken = '<bos>', eosToken = '<eos>' } = options;
  if (!Number.isSafeInteger(numSteps) || numSteps < 1)
    throw new RangeError(`buildTranslationArray: numSteps must be a positive integer (got ${numSteps})`);
  const special = (token: string, role: string) => {
    if (!vocab.has(token)) {
      throw new Error(
        `buildTranslationArray: the vocabulary has no ${role} token ${JSON.stringify(token)} (add it to reservedTokens)`,
      );
    }
    return vocab.indexOf(token);
  };
  const pad = special(padToken, 'padding');
  const bosId = bos ? special(bosToken, 'begin-of-sequence') : undefined;
  const eosId = eos ? special(eosToken, 'end-of-sequence') : undefined;
  const tokens = new Int32Array(lines.length * numSteps);
  const validLengths = new Int32Array(lines.length);
  lines.forEach((line, r) => {
    const ids = [
      ...(bosId === undefined ? [] : [bosId]),
      ...vocab.toIndices(line),
      ...(eosId === undefined ? [] : [eosId]),
    ];
    const row = truncatePad(ids, numSteps, pad);
    tokens.set(row, r * numSteps);
    validLengths[r] = row.filter((id) => id !== pad).length;
  });
  const device = options.device ?? k.getDefaultDevice();
  return {
    tokens: k.fromHost(tokens, [lines.length, numSteps], 'int32', device),
    validLengths: k.fromHost(validLengths, [lines.length], 'int32', device),
  };
}
