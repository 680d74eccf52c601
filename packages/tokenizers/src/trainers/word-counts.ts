import { NormalizedString } from '../normalizers/normalized-string.js';
import { byteLevelChars } from '../pre-tokenizers/byte-level.js';
import { gpt2MatchEnd } from '../pre-tokenizers/gpt2-scanner.js';
import type { Tokenizer } from '../tokenizer.js';
import type { ProgressCallback } from './progress.js';

/**
 * Word frequencies for training, through the tokenizer's own normalizer and pre-tokenizer (HF's
 * `feed`), so the trained model sees exactly the words it will later be asked to encode.
 */
export function countWords(
  tokenizer: Pick<Tokenizer, 'normalizer' | 'preTokenizer'>,
  texts: Iterable<string>,
  onProgress: ProgressCallback | null = null,
): Map<string, number> {
  const counts = new Map<string, number>();
  const list = Array.isArray(texts) ? (texts as string[]) : [...texts];
  list.forEach((text, i) => {
    const ns = NormalizedString.fromOriginal(text);
    tokenizer.normalizer?.normalize(ns);
    const words = tokenizer.preTokenizer ? tokenizer.preTokenizer.preTokenize([ns]) : [ns];
    for (const w of words) counts.set(w.normalized, (counts.get(w.normalized) ?? 0) + 1);
    onProgress?.({ stage: 'count-words', done: i + 1, total: list.length });
  });
  return counts;
}

/**
 * The same counts for the GPT-2 byte-level pipeline without a normalizer, computed with the fused
 * scanner: words are counted as raw text and mapped to byte-level characters once each.
 */
export function countByteLevelWords(
  texts: Iterable<string>,
  onProgress: ProgressCallback | null = null,
): Map<string, number> {
  const raw = new Map<string, number>();
  const list = Array.isArray(texts) ? (texts as string[]) : [...texts];
  const total = list.reduce((n, t) => n + t.length, 0);
  let done = 0;
  const REPORT_EVERY = 1 << 20;
  let nextReport = REPORT_EVERY;
  for (const text of list) {
    const end = text.length;
    for (let i = 0; i < end; ) {
      const j = gpt2MatchEnd(text, i, end);
      const w = text.slice(i, j);
      raw.set(w, (raw.get(w) ?? 0) + 1);
      i = j;
      if (onProgress && done + i >= nextReport) {
        onProgress({ stage: 'count-words', done: done + i, total });
        nextReport += REPORT_EVERY;
      }
    }
    done += end;
  }
  onProgress?.({ stage: 'count-words', done: total, total });
  const counts = new Map<string, number>();
  for (const [w, c] of raw) {
    let mapped = '';
    for (const ch of w) mapped += byteLevelChars(ch);
    // Different raw words can share a byte-level spelling (lone surrogates all become U+FFFD).
    counts.set(mapped, (counts.get(mapped) ?? 0) + c);
  }
  return counts;
}
