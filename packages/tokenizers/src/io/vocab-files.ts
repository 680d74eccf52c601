import { TokenizerFileError } from './errors.js';
import { parseJson } from './json.js';

/** vocab.json (GPT-2 / RoBERTa): `{"token": id, ...}`. */
export function parseVocabJson(text: string, file: string): Map<string, number> {
  const value = parseJson(text, file);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TokenizerFileError(file, 'a vocab.json must hold an object {"token": id}');
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(value)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new TokenizerFileError(
        file,
        `id of ${JSON.stringify(token)} must be a non-negative integer, got ${JSON.stringify(id)}`,
        lineOf(text, JSON.stringify(token)),
      );
    }
    vocab.set(token, id);
  }
  return vocab;
}

/** 1-based line of the first occurrence of `needle`, if any (for error messages). */
function lineOf(text: string, needle: string): number | undefined {
  const at = text.indexOf(needle);
  return at < 0 ? undefined : text.slice(0, at).split('\n').length;
}

/**
 * merges.txt: an optional `#version` line, then one `left right` pair per line, in rank order.
 * Blank lines are skipped; any other line without exactly two parts is an error naming the line.
 */
export function parseMergesTxt(text: string, file: string): Array<[string, string]> {
  const lines = text.split('\n');
  const merges: Array<[string, string]> = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (line.length === 0 || (i === 0 && line.startsWith('#version'))) continue;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new TokenizerFileError(file, `expected "left right", got ${JSON.stringify(line)}`, i + 1);
    }
    merges.push([parts[0], parts[1]]);
  }
  return merges;
}

/** vocab.txt (BERT): one token per line, the id is the line index; trailing whitespace ignored as in HF. */
export function parseVocabTxt(text: string, file: string): Map<string, number> {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new TokenizerFileError(file, 'the vocabulary is empty');
  const vocab = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) vocab.set(lines[i].trimEnd(), i);
  return vocab;
}

export function vocabJsonText(vocab: Map<string, number>): string {
  const entries = [...vocab].sort((a, b) => a[1] - b[1]);
  return `{${entries.map(([t, id]) => `${JSON.stringify(t)}:${id}`).join(',')}}`;
}

export function mergesTxtText(merges: ReadonlyArray<readonly [string, string]>): string {
  return `#version: 0.2\n${merges.map(([a, b]) => `${a} ${b}`).join('\n')}\n`;
}

export function vocabTxtText(vocab: Map<string, number>): string {
  const tokens = [...vocab].sort((a, b) => a[1] - b[1]).map(([t]) => t);
  return `${tokens.join('\n')}\n`;
}
