import type { Pattern } from '../io/json.js';

/**
 * Hugging Face compiles tokenizer.json regexes with Oniguruma, where `\s`, `\w` and `\d` are Unicode
 * aware; in JS (even with the `u` flag) they are not, so they are rewritten to Unicode properties.
 * Inline case-insensitive groups `(?i:...)` (GPT-4 style contractions), which Node 20 lacks, are
 * expanded for ASCII letters.
 */
const SPACE = '\\p{White_Space}';
const WORD = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';

export function translateOnigRegex(source: string): string {
  let out = '';
  let inClass = false;
  let ciDepth = -1;
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\' && i + 1 < source.length) {
      const e = source[i + 1];
      i++;
      if (e === 's') out += inClass ? SPACE : `[${SPACE}]`;
      else if (e === 'S') out += inClass ? '\\P{White_Space}' : `[^${SPACE}]`;
      else if (e === 'w') out += inClass ? WORD : `[${WORD}]`;
      else if (e === 'W') out += `[^${WORD}]`;
      else if (e === 'd') out += '\\p{Nd}';
      else if (e === 'D') out += '\\P{Nd}';
      else out += `\\${e}`;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      continue;
    }
    if (c === '(' && source.startsWith('(?i:', i)) {
      depth++;
      if (ciDepth < 0) ciDepth = depth;
      out += '(?:';
      i += 3;
      continue;
    }
    if (c === '(') depth++;
    if (c === ')') {
      if (depth === ciDepth) ciDepth = -1;
      depth--;
    }
    if (ciDepth >= 0 && /[a-zA-Z]/.test(c)) {
      out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
      continue;
    }
    out += c;
  }
  return out;
}

/** A global, Unicode regex for a Split/Replace pattern (a `String` pattern matches literally). */
export function compilePattern(p: Pattern): RegExp {
  const source = p.kind === 'string' ? escapeRegex(p.source) : translateOnigRegex(p.source);
  return new RegExp(source, 'gu');
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
