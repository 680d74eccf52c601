// The encoder-decoder Transformer for translation (issue 8).
export type { TransformerConfigFields, TransformerConfigInit } from './config.js';
export { TransformerConfig } from './config.js';
export type {
  EncodedSource,
  TransformerForwardOptions,
  TransformerFromPretrainedOptions,
  TransformerOutput,
} from './model.js';
export { PositionalEncoding, RecordingMultiheadAttention, Transformer } from './model.js';
export type { TranslateOptions, Translation } from './translate.js';
