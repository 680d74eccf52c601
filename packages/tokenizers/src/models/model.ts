import type { JsonObject } from '../io/json.js';

/** A token produced by a model, with offsets in code units of the word it was given. */
export interface ModelToken {
  readonly id: number;
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

/** Third pipeline stage: turns one pre-tokenized word into vocabulary ids. */
export interface Model {
  readonly type: 'BPE' | 'WordPiece' | 'WordLevel' | 'Unigram';
  tokenize(word: string): ModelToken[];
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Number of entries in the model's vocabulary (added tokens not included). */
  readonly vocabSize: number;
  getVocab(): Map<string, number>;
  toJSON(): JsonObject;
}

/** Inverts a vocabulary; ids need not be dense. */
export function invertVocab(vocab: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [token, id] of vocab) out[id] = token;
  return out;
}

/** A vocabulary object in id order, the layout Hugging Face writes. */
export function vocabToJSON(vocab: Map<string, number>): JsonObject {
  const entries = [...vocab].sort((a, b) => a[1] - b[1]);
  const out: JsonObject = {};
  for (const [token, id] of entries) out[token] = id;
  return out;
}
