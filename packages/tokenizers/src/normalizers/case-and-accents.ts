import type { JsonObject } from '../io/json.js';
import type { NormalizedString } from './normalized-string.js';
import type { Normalizer } from './normalizer.js';

const NONSPACING_MARK = /\p{Mn}/gu;

/**
 * Lowercasing one character at a time, as HF does (`char::to_lowercase`): no context-dependent rules,
 * so a word-final 'Σ' becomes 'σ', not 'ς'.
 */
export function lowercaseChar(ch: string): string {
  return ch.toLowerCase();
}

/** HF `strip_accents`: NFD, then drop nonspacing marks (Mn). */
export function stripAccentsChar(ch: string): string {
  const c = ch.charCodeAt(0);
  if (c < 0xc0) return ch;
  return ch.normalize('NFD').replace(NONSPACING_MARK, '');
}

export class Lowercase implements Normalizer {
  normalize(ns: NormalizedString): void {
    ns.mapChars(lowercaseChar);
  }

  toJSON(): JsonObject {
    return { type: 'Lowercase' };
  }
}

/** Removes nonspacing marks; like HF, it is meant to follow an NFD/NFKD normalizer. */
export class StripAccents implements Normalizer {
  normalize(ns: NormalizedString): void {
    ns.mapChars((ch) => (NONSPACING_MARK_SINGLE.test(ch) ? '' : ch));
  }

  toJSON(): JsonObject {
    return { type: 'StripAccents' };
  }
}

const NONSPACING_MARK_SINGLE = /^\p{Mn}$/u;
