import type { JsonObject } from '../io/json.js';
import type { NormalizedString } from '../normalizers/normalized-string.js';

/** Second pipeline stage: cuts normalized text into words (each keeps its alignment). */
export interface PreTokenizer {
  preTokenize(pieces: NormalizedString[]): NormalizedString[];
  toJSON(): JsonObject;
}

/** What happens to the matched delimiters when splitting (HF `SplitDelimiterBehavior`). */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

export const SPLIT_BEHAVIORS: readonly SplitBehavior[] = [
  'Removed',
  'Isolated',
  'MergedWithPrevious',
  'MergedWithNext',
  'Contiguous',
];

/** A list of ranges covering the whole text, each flagged as a delimiter match or not. */
type Ranges = Array<[start: number, end: number, isMatch: boolean]>;

function coverWithGaps(length: number, matches: Array<[number, number]>): Ranges {
  const out: Ranges = [];
  let last = 0;
  for (const [s, e] of matches) {
    if (s > last) out.push([last, s, false]);
    out.push([s, e, true]);
    last = e;
  }
  if (last < length) out.push([last, length, false]);
  return out;
}

/** HF `NormalizedString::split`: the same five behaviours, with empty pieces dropped. */
export function splitByMatches(
  ns: NormalizedString,
  matches: Array<[number, number]>,
  behavior: SplitBehavior,
  invert = false,
): NormalizedString[] {
  let ranges = coverWithGaps(ns.length, matches);
  if (invert) ranges = ranges.map(([s, e, m]) => [s, e, !m]);
  let kept: Array<[number, number]>;
  switch (behavior) {
    case 'Isolated':
      kept = ranges.map(([s, e]) => [s, e]);
      break;
    case 'Removed':
      kept = ranges.filter((r) => !r[2]).map(([s, e]) => [s, e]);
      break;
    case 'MergedWithPrevious': {
      kept = [];
      let prevMatch = false;
      for (const [s, e, m] of ranges) {
        if (m && !prevMatch && kept.length > 0) kept[kept.length - 1][1] = e;
        else kept.push([s, e]);
        prevMatch = m;
      }
      break;
    }
    case 'MergedWithNext': {
      kept = [];
      let prevMatch = false;
      for (let i = ranges.length - 1; i >= 0; i--) {
        const [s, e, m] = ranges[i];
        if (m && !prevMatch && kept.length > 0) kept[kept.length - 1][0] = s;
        else kept.push([s, e]);
        prevMatch = m;
      }
      kept.reverse();
      break;
    }
    case 'Contiguous': {
      kept = [];
      let prevMatch = false;
      for (const [s, e, m] of ranges) {
        if (m === prevMatch && kept.length > 0) kept[kept.length - 1][1] = e;
        else kept.push([s, e]);
        prevMatch = m;
      }
      break;
    }
  }
  const out: NormalizedString[] = [];
  for (const [s, e] of kept) if (e > s) out.push(ns.slice(s, e));
  return out;
}

/** Every character satisfying `test` is its own match (HF's `Fn(char) -> bool` patterns). */
export function charMatches(text: string, test: (ch: string) => boolean): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i) ?? 0;
    const units = cp > 0xffff ? 2 : 1;
    if (test(units === 1 ? text[i] : text.slice(i, i + 2))) out.push([i, i + units]);
    i += units;
  }
  return out;
}

/** Non-empty matches of a global regex. */
export function regexMatches(text: string, re: RegExp): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    out.push([m.index, m.index + m[0].length]);
  }
  return out;
}
