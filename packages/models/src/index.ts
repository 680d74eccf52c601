// @kiln/models: reference models (GPT, BERT, Transformer, Seq2Seq) built on @kiln/nn and
// @kiln/tokenizers, with generation, the Trainer and checkpoints, BLEU and attention heat maps.

export * from './bert/index.js';
export type { BleuOptions, BleuResult } from './evaluation/bleu.js';
export { corpusBleu } from './evaluation/bleu.js';
export type { LogitsModel, PerplexityBatch } from './evaluation/perplexity.js';
export { perplexity } from './evaluation/perplexity.js';
export type { CausalLM, GenerateOptions, GenerationStep, KeyValueCache } from './generation/generate.js';
export { generate, streamGenerate } from './generation/generate.js';
export { applyRepetitionPenalty, topKFilter, topPFilter } from './generation/logits.js';
export type { GPTConfigFields } from './gpt/config.js';
export { GPTConfig } from './gpt/config.js';
export type { GPTForwardOptions, GPTOutput, LayerCache } from './gpt/model.js';
export { Conv1D, GPT, GPTAttention, GPTBlock, GPTMLP, shiftedCrossEntropy } from './gpt/model.js';
export type { FromPretrainedOptions } from './gpt/pretrained.js';
export * from './seq2seq/index.js';
export * from './training/index.js';
export * from './transformer/index.js';
export * from './visualization/attention-heatmap.js';
