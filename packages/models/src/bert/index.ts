// BERT (Devlin et al. 2018) in Hugging Face's bert-base layout: the encoder, the pretraining and
// fine-tuning heads, fromPretrained / save, and the masked-LM / next-sentence data helpers.
export type { BertConfigFields, BertConfigInit } from './config.js';
export { BertConfig } from './config.js';
export type {
  BertClassificationInputs,
  BertClassificationOutput,
  BertMaskedLMOutput,
  BertPreTrainingInputs,
  BertPreTrainingOutput,
} from './heads.js';
export {
  BERT,
  BertForMaskedLM,
  BertForPreTraining,
  BertForSequenceClassification,
  BertOnlyMLMHead,
  BertPreTrainingHeads,
} from './heads.js';
export type {
  MaskedTokens,
  MaskTokensOptions,
  MLMBatch,
  MLMCollatorOptions,
  MLMExample,
  SentencePair,
} from './masking.js';
export { MLMCollator, maskTokens, nextSentencePairs } from './masking.js';
export type { BertInputs, BertModelOutput } from './model.js';
export {
  BertAttention,
  BertEmbeddings,
  BertEncoder,
  BertIntermediate,
  BertLayer,
  BertLMPredictionHead,
  BertModel,
  BertPooler,
  BertPredictionHeadTransform,
  BertResidualOutput,
  BertSelfAttention,
} from './model.js';
export type { BertClass, BertFromPretrainedOptions } from './pretrained.js';
export { BertPreTrainedModel, bertStateFromCheckpoint } from './pretrained.js';
