/**
 * A hand-written matcher for GPT-2's split pattern (`GPT2_SPLIT_PATTERN`), equivalent to the regex
 * but without allocating a match object and a substring per word: the fused encoder only slices a
 * word out of the text the first time it sees it. `gpt2-scanner.test.ts` checks it against the
 * regex on random and adversarial text.
 */

const LETTER = 1;
const NUMBER = 2;
const SPACE = 3;
const OTHER = 4;

const LETTER_RE = /^\p{L}$/u;
const NUMBER_RE = /^\p{N}$/u;
const SPACE_RE = /^\p{White_Space}$/u;

function classifyCodePoint(ch: string): number {
  if (LETTER_RE.test(ch)) return LETTER;
  if (NUMBER_RE.test(ch)) return NUMBER;
  if (SPACE_RE.test(ch)) return SPACE;
  return OTHER;
}

/** Class per BMP code unit, 0 = not computed yet (filled lazily: most scripts never show up). */
const BMP_CLASS = new Uint8Array(65536);
for (let c = 0; c < 128; c++) BMP_CLASS[c] = classifyCodePoint(String.fromCharCode(c));
// Surrogates are classified per code point below; a lone one is "other", as the `u` regex sees it.
for (let c = 0xd800; c <= 0xdfff; c++) BMP_CLASS[c] = OTHER;
const ASTRAL_CLASS = new Map<number, number>();

/** Code units taken by the character whose class `classAt` returned last. */
let units = 1;

function classAt(text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);
  units = 1;
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
    const lo = text.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo <= 0xdfff) {
      units = 2;
      const cp = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
      let k = ASTRAL_CLASS.get(cp);
      if (k === undefined) {
        k = classifyCodePoint(String.fromCodePoint(cp));
        ASTRAL_CLASS.set(cp, k);
      }
      return k;
    }
    return OTHER;
  }
  let k = BMP_CLASS[c];
  if (k === 0) {
    k = classifyCodePoint(String.fromCharCode(c));
    BMP_CLASS[c] = k;
  }
  return k;
}

/**
 * End of the match that starts at `i` (< `end`). The pattern's alternatives, in order:
 * contractions, ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`, `\s+(?!\S)`, `\s+`. Every character
 * belongs to some alternative, so matches tile the text.
 */
export function gpt2MatchEnd(text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);
  if (c === 39 && i + 1 < end) {
    const d = text.charCodeAt(i + 1);
    // 's 't 'm 'd
    if (d === 115 || d === 116 || d === 109 || d === 100) return i + 2;
    if (i + 2 < end) {
      const e = text.charCodeAt(i + 2);
      // 're 've 'll
      if ((e === 101 && (d === 114 || d === 118)) || (d === 108 && e === 108)) return i + 3;
    }
  }
  let j = i;
  let k = classAt(text, i, end);
  if (c === 32 && i + 1 < end) {
    const next = classAt(text, i + 1, end);
    if (next !== SPACE) {
      j = i + 1;
      k = next;
    } else {
      units = 1;
    }
  }
  if (k !== SPACE) {
    // A run of one class; `classAt` left the width of the first character in `units`.
    j += units;
    while (j < end && classAt(text, j, end) === k) j += units;
    return j;
  }
  // Whitespace characters are all single code units.
  j = i + 1;
  while (j < end && classAt(text, j, end) === SPACE) j++;
  // `\s+(?!\S)` leaves the last space to the next word when a non-space follows.
  if (j < end && j - i > 1) return j - 1;
  return j;
}

/** FNV-1a over the code units of text[start, end). */
export function hashRange(text: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
