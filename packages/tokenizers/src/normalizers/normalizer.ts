import type { JsonObject } from '../io/json.js';
import type { NormalizedString } from './normalized-string.js';

/** First pipeline stage: rewrites text in place, keeping alignment to the original. */
export interface Normalizer {
  normalize(ns: NormalizedString): void;
  /** The Hugging Face tokenizer.json form. */
  toJSON(): JsonObject;
}
