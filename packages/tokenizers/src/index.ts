export type { AddedToken, AddedTokenOptions } from './added-tokens/added-vocabulary.js';
export type { SpecialTokenRole, SpecialTokens } from './added-tokens/special-token-roles.js';
export { ByteLevelDecoder } from './decoders/byte-level.js';
export type { Decoder } from './decoders/decoder.js';
export { BPEDecoder, MetaspaceDecoder, WordPieceDecoder } from './decoders/subword.js';
export {
  ByteFallbackDecoder,
  DecoderSequence,
  FuseDecoder,
  ReplaceDecoder,
  StripDecoder,
} from './decoders/text-edits.js';
export type { EncodingFields } from './encoding/encoding.js';
export { Encoding } from './encoding/encoding.js';
export type { Direction, TruncationStrategy } from './encoding/truncation.js';
export type { BPETrainOptions } from './factories/bpe.js';
export { BPE } from './factories/bpe.js';
export type { ByteLevelBPEOptions } from './factories/byte-level-bpe.js';
export { ByteLevelBPE } from './factories/byte-level-bpe.js';
export type { BertTokenizerOptions, WordPieceTrainOptions } from './factories/wordpiece.js';
export { trainWordPiece, WordPiece } from './factories/wordpiece.js';
export { TokenizerFileError } from './io/errors.js';
export type { JsonObject, JsonValue, Pattern } from './io/json.js';
export type { FileSource } from './io/source.js';
export type { CharLevelOptions } from './keras/char-level.js';
export { CharLevel } from './keras/char-level.js';
export type { PadSequencesOptions, WordLevelOptions } from './keras/word-level.js';
export { KERAS_FILTERS, padSequences, WordLevel } from './keras/word-level.js';
export type { BPEOptions } from './models/bpe.js';
export { BPEModel } from './models/bpe.js';
export type { Model, ModelToken } from './models/model.js';
export { UnigramModel } from './models/unigram.js';
export { WordLevelModel } from './models/word-level.js';
export type { WordPieceOptions } from './models/wordpiece.js';
export { WordPieceModel } from './models/wordpiece.js';
export type { BertNormalizerOptions } from './normalizers/bert.js';
export { BertNormalizer } from './normalizers/bert.js';
export { Lowercase, StripAccents } from './normalizers/case-and-accents.js';
export { NormalizedString } from './normalizers/normalized-string.js';
export type { Normalizer } from './normalizers/normalizer.js';
export { NormalizerSequence, Prepend, Replace, Strip } from './normalizers/text-edits.js';
export type { UnicodeForm } from './normalizers/unicode-forms.js';
export { UnicodeNormalizer } from './normalizers/unicode-forms.js';
export { BertProcessing, PostProcessorSequence, RobertaProcessing } from './post-processors/bert-roberta.js';
export { ByteLevelProcessor } from './post-processors/byte-level.js';
export type { PostProcessor } from './post-processors/post-processor.js';
export type { TemplatePiece, TemplateSpecialToken } from './post-processors/template.js';
export { TemplateProcessing } from './post-processors/template.js';
export type { ByteLevelOptions } from './pre-tokenizers/byte-level.js';
export { ByteLevelPreTokenizer, GPT2_SPLIT_PATTERN } from './pre-tokenizers/byte-level.js';
export { byteLevelAlphabet } from './pre-tokenizers/byte-level-alphabet.js';
export type { PrependScheme } from './pre-tokenizers/metaspace.js';
export { Metaspace } from './pre-tokenizers/metaspace.js';
export type { PreTokenizer, SplitBehavior } from './pre-tokenizers/pre-tokenizer.js';
export { PreTokenizerSequence, Split } from './pre-tokenizers/split.js';
export {
  BertPreTokenizer,
  CharDelimiterSplit,
  Digits,
  Punctuation,
  Whitespace,
  WhitespaceSplit,
} from './pre-tokenizers/whitespace.js';
export type {
  DecodeOptions,
  EncodeInput,
  EncodeOptions,
  PaddingOptions,
  TokenizerParts,
  TruncationOptions,
} from './tokenizer.js';
export { Tokenizer } from './tokenizer.js';
export type { BPETrainerOptions, TrainedBPE } from './trainers/bpe-trainer.js';
export { trainBPE } from './trainers/bpe-trainer.js';
export type { ProgressCallback, TrainingProgress } from './trainers/progress.js';
export { terminalProgressBar } from './trainers/progress.js';
export { countByteLevelWords, countWords } from './trainers/word-counts.js';
