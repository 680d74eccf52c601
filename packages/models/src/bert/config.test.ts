// BertConfig reads and writes config.json as Hugging Face's BertConfig / PretrainedConfig do.
import { describe, expect, it } from 'vitest';
import { BertConfig } from '../index.js';

describe('BertConfig', () => {
  it("defaults to bert-base-uncased's configuration", () => {
    const c = new BertConfig();
    expect([
      c.vocab_size,
      c.hidden_size,
      c.num_hidden_layers,
      c.num_attention_heads,
      c.intermediate_size,
    ]).toEqual([30522, 768, 12, 12, 3072]);
    expect([c.hidden_act, c.layer_norm_eps, c.max_position_embeddings, c.type_vocab_size]).toEqual([
      'gelu',
      1e-12,
      512,
      2,
    ]);
    expect(c.numLabels).toBe(2);
    expect(c.headDim).toBe(64);
  });

  it('names num_labels classes LABEL_i, as PretrainedConfig, and writes label2id beside id2label', () => {
    const c = new BertConfig({ num_labels: 3 });
    expect(c.id2label).toEqual({ 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
    const json = c.toJSON('BertForSequenceClassification');
    expect(json.architectures).toEqual(['BertForSequenceClassification']);
    expect(json.model_type).toBe('bert');
    expect(json.label2id).toEqual({ LABEL_0: 0, LABEL_1: 1, LABEL_2: 2 });
  });

  it('keeps fields it does not use, so that save writes them back', () => {
    const c = new BertConfig({ gradient_checkpointing: false, transformers_version: '4.6.0.dev0' });
    expect(c.toJSON()).toMatchObject({ gradient_checkpointing: false, transformers_version: '4.6.0.dev0' });
  });

  it('rejects what the models cannot build, naming the field', () => {
    expect(() => new BertConfig({ model_type: 'gpt2' })).toThrow(
      /BertConfig: model_type "gpt2" is not "bert"/,
    );
    expect(() => new BertConfig({ hidden_act: 'mish' })).toThrow(
      /BertConfig: hidden_act "mish" is not supported/,
    );
    expect(() => new BertConfig({ position_embedding_type: 'relative_key' })).toThrow(/only "absolute"/);
    expect(() => new BertConfig({ num_hidden_layers: 0 })).toThrow(
      /num_hidden_layers must be a positive integer/,
    );
    expect(() => new BertConfig({ pad_token_id: 40, vocab_size: 40 })).toThrow(/pad_token_id 40 is outside/);
  });
});
