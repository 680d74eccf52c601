// Seq2Seq: GRU encoder + GRU decoder with Bahdanau attention, greedy and beam search decoding.
export type { Seq2SeqConfigFields, Seq2SeqConfigInit } from './config.js';
export { Seq2SeqConfig } from './config.js';
export type {
  EncoderMemory,
  Seq2SeqForwardOptions,
  Seq2SeqOutput,
  Seq2SeqSentenceTranslation,
  Seq2SeqTranslateOptions,
} from './model.js';
export { AttnDecoder, BahdanauAttention, Seq2Seq, Seq2SeqEncoder } from './model.js';
export type { Seq2SeqBeamSearchOptions, Seq2SeqSearchOptions, Seq2SeqTranslation } from './search.js';
