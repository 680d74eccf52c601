import type { JsonObject } from '../io/json.js';

/**
 * Turns tokens back into text (HF `Decoder`). `decodeChain` maps tokens to tokens so decoders can
 * be chained in a Sequence; the final text is the concatenation.
 */
export interface Decoder {
  decodeChain(tokens: string[]): string[];
  toJSON(): JsonObject;
}

export function decodeTokens(decoder: Decoder, tokens: string[]): string {
  return decoder.decodeChain(tokens).join('');
}
