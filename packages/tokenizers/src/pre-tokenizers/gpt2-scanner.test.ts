import { describe, expect, it } from 'vitest';
import { HARD_CASES } from '../testing/fixtures.js';
import { gpt2SplitRegex } from './byte-level.js';
import { gpt2MatchEnd } from './gpt2-scanner.js';

function scan(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const j = gpt2MatchEnd(text, i, text.length);
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}

function regexSplit(text: string): string[] {
  return text.match(gpt2SplitRegex()) ?? [];
}

/** Deterministic pseudo-random text over an alphabet with every character class of the pattern. */
function randomText(seed: number, length: number): string {
  const pieces = [
    ' ',
    '  ',
    '\t',
    '\n',
    '\u00a0',
    '\u3000',
    '\u0085',
    '\ufeff',
    "'",
    "'s",
    "'ll",
    "'re",
    "'x",
    'a',
    'Z',
    'é',
    'ß',
    '日',
    '😀',
    '𝔘',
    '1',
    '٣',
    '½',
    '.',
    ',',
    '!',
    '€',
    '\u0301',
    '\ud800',
    '\udc00',
    '\u200d',
    '_',
  ];
  let s = seed >>> 0;
  let out = '';
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out += pieces[s % pieces.length];
  }
  return out;
}

describe('GPT-2 split scanner', () => {
  it('splits the hard cases exactly like the regex', () => {
    for (const s of HARD_CASES) expect(scan(s)).toEqual(regexSplit(s));
  });

  it('splits random text over every character class exactly like the regex', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const s = randomText(seed, 80);
      expect(scan(s), JSON.stringify(s)).toEqual(regexSplit(s));
    }
  });
});
