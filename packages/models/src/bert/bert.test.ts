// BERT against the PyTorch reference of scripts/fixtures/bert.py: one tiny BERT saved as
// BertForPreTraining, BertModel and BertForSequenceClassification files, with its outputs and one
// backward's gradients for the pretraining and the classification losses.
import '@kiln/backend-cpu';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k from '@kiln/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BERT,
  BertForMaskedLM,
  type BertForPreTraining,
  BertForSequenceClassification,
  BertModel,
} from '../index.js';
import { relativeError } from '../testing/parity.js';

const FIXTURES = fileURLToPath(new URL('../../test-fixtures/bert/', import.meta.url));
const REFERENCE_SCRIPT = fileURLToPath(new URL('../../../../scripts/fixtures/bert.py', import.meta.url));

/** Debian's python3 with torch, which the fixture script needs (absent in CI: the test says so). */
function hasTorch(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
    return existsSync(REFERENCE_SCRIPT);
  } catch {
    return false;
  }
}

interface Expected {
  inputIds: number[][];
  attentionMask: number[][];
  tokenTypeIds: number[][];
  labels: number[][];
  nextSentenceLabel: number[];
  classLabels: number[];
  hidden: number[];
  hiddenShape: number[];
  pooled: number[];
  mlmLogits: number[];
  mlmLogitsShape: number[];
  nspLogits: number[];
  pretrainingLoss: number;
  classLogits: number[];
  classifierLoss: number;
}

let expected: Expected;
let bert: BertForPreTraining;
const silent = { warn: null };

beforeAll(async () => {
  expected = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as Expected;
  bert = await BERT.fromPretrained(join(FIXTURES, 'pretraining'), silent);
});

afterAll(() => bert.dispose());

function values(t: k.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

function inputs() {
  return {
    ids: k.tensor(expected.inputIds, { dtype: 'int32' }),
    attentionMask: k.tensor(expected.attentionMask, { dtype: 'int32' }),
    tokenTypeIds: k.tensor(expected.tokenTypeIds, { dtype: 'int32' }),
  };
}

/** Every parameter's gradient against the reference file, by Hugging Face name. */
async function expectGradients(model: BertForPreTraining | BertForSequenceClassification, file: string) {
  const grads = await k.loadSafetensors(join(FIXTURES, file));
  const names = [...model.namedParameters()].map(([n]) => n);
  expect(names.sort()).toEqual(Object.keys(grads).sort());
  for (const [name, p] of model.namedParameters()) {
    if (name.endsWith('attention.self.key.bias')) {
      // The key bias adds q . b to every score of a query alike, which softmax ignores: its exact
      // gradient is 0 and both sides hold round-off (PyTorch ~1e-8), so compare against the key
      // weight's gradient scale instead.
      const scale = Math.max(...values(grads[name.replace(/bias$/, 'weight')]).map(Math.abs));
      const diff = Math.max(...values(p.grad!).map((g, i) => Math.abs(g - values(grads[name])[i])));
      expect(diff / scale, name).toBeLessThan(1e-5);
      continue;
    }
    const err = relativeError(values(p.grad!), values(grads[name]));
    expect(err, name).toBeLessThan(1e-3);
  }
  k.dispose(Object.values(grads));
}

describe('BERT parity with PyTorch', () => {
  it('uses Hugging Face parameter names, with the decoder tied to the word embeddings', () => {
    const names = [...bert.namedParameters()].map(([n]) => n);
    expect(names).toContain('bert.embeddings.word_embeddings.weight');
    expect(names).toContain('bert.embeddings.token_type_embeddings.weight');
    expect(names).toContain('bert.encoder.layer.1.attention.self.query.weight');
    expect(names).toContain('bert.encoder.layer.0.attention.output.LayerNorm.bias');
    expect(names).toContain('bert.encoder.layer.0.intermediate.dense.weight');
    expect(names).toContain('bert.encoder.layer.0.output.LayerNorm.weight');
    expect(names).toContain('bert.pooler.dense.weight');
    expect(names).toContain('cls.predictions.transform.LayerNorm.weight');
    expect(names).toContain('cls.predictions.bias');
    expect(names).toContain('cls.seq_relationship.weight');
    expect(names.filter((n) => n.includes('decoder'))).toEqual([]);
    expect(bert.bert.encoder.layer[0].attention.self.query.weight.shape).toEqual([32, 32]);
    expect(bert.config.layer_norm_eps).toBe(1e-12);
    expect(bert.training).toBe(false);
  });

  it('gives the reference MLM logits, NSP logits, hidden states and pooled output within 1e-4 relative', () => {
    const { ids, attentionMask, tokenTypeIds } = inputs();
    const out = k.noGrad(() => bert.forward(ids, { attentionMask, tokenTypeIds }));
    expect(out.logits.shape).toEqual(expected.mlmLogitsShape);
    expect(out.lastHiddenState.shape).toEqual(expected.hiddenShape);
    expect(relativeError(values(out.logits), expected.mlmLogits)).toBeLessThan(1e-4);
    expect(relativeError(values(out.nextSentenceLogits), expected.nspLogits)).toBeLessThan(1e-4);
    expect(relativeError(values(out.lastHiddenState), expected.hidden)).toBeLessThan(1e-4);
    expect(relativeError(values(out.poolerOutput), expected.pooled)).toBeLessThan(1e-4);
    k.dispose([
      ids,
      attentionMask,
      tokenTypeIds,
      out.logits,
      out.nextSentenceLogits,
      out.lastHiddenState,
      out.poolerOutput,
    ]);
  });

  it('gives the reference MLM + NSP loss and every gradient within 1e-3 relative', async () => {
    const { ids, attentionMask, tokenTypeIds } = inputs();
    const labels = k.tensor(expected.labels, { dtype: 'int32' });
    const nextSentenceLabel = k.tensor(expected.nextSentenceLabel, { dtype: 'int32' });
    const { loss } = bert.forward(ids, { attentionMask, tokenTypeIds, labels, nextSentenceLabel });
    expect(Math.abs(loss!.itemSync() - expected.pretrainingLoss) / expected.pretrainingLoss).toBeLessThan(
      1e-5,
    );
    loss!.backward();
    await expectGradients(bert, 'grads-pretraining.safetensors');
    bert.zeroGrad();
    k.dispose([ids, attentionMask, tokenTypeIds, labels, nextSentenceLabel, loss!]);
  });

  it('gives the reference classifier logits, loss and gradients (BertForSequenceClassification)', async () => {
    const model = await BertForSequenceClassification.fromPretrained(join(FIXTURES, 'classifier'), silent);
    expect(model.config.numLabels).toBe(3);
    const { ids, attentionMask, tokenTypeIds } = inputs();
    const labels = k.tensor(expected.classLabels, { dtype: 'int32' });
    const { logits, loss } = model.forward(ids, { attentionMask, tokenTypeIds, labels });
    expect(relativeError(values(logits), expected.classLogits)).toBeLessThan(1e-4);
    expect(Math.abs(loss!.itemSync() - expected.classifierLoss) / expected.classifierLoss).toBeLessThan(1e-5);
    loss!.backward();
    await expectGradients(model, 'grads-classifier.safetensors');
    k.dispose([ids, attentionMask, tokenTypeIds, labels, logits, loss!]);
    model.dispose();
  });

  it('gives padded rows the outputs of the unpadded sequence (attention mask)', () => {
    const { ids, attentionMask, tokenTypeIds } = inputs();
    const n = expected.attentionMask[1].reduce((a, b) => a + b, 0);
    const [padded, alone] = k.noGrad(() => [
      bert.forward(ids, { attentionMask, tokenTypeIds }).logits.select(0, 1).slice(0, 0, n),
      bert
        .forward(ids.slice(0, 1, 2).slice(1, 0, n), {
          tokenTypeIds: tokenTypeIds.slice(0, 1, 2).slice(1, 0, n),
        })
        .logits.select(0, 0),
    ]);
    expect(relativeError(values(padded), values(alone))).toBeLessThan(1e-5);
  });
});

describe('BERT.fromPretrained', () => {
  it('reads a BertModel checkpoint (bare keys, position_ids buffer) to the same encoder', async () => {
    const base = await BertModel.fromPretrained(join(FIXTURES, 'base'), silent);
    expect([...base.namedParameters()][0][0]).toBe('embeddings.word_embeddings.weight');
    const { ids, attentionMask, tokenTypeIds } = inputs();
    const out = k.noGrad(() => base.forward(ids, { attentionMask, tokenTypeIds }));
    expect(relativeError(values(out.lastHiddenState), expected.hidden)).toBeLessThan(1e-4);
    expect(relativeError(values(out.poolerOutput!), expected.pooled)).toBeLessThan(1e-4);
    base.dispose();
  });

  it('loads any checkpoint kind into any class, initialising the missing heads and reporting them', async () => {
    const messages: string[] = [];
    const warn = (m: string) => messages.push(m);
    // A BertModel file into the pretraining model: both heads are new.
    const fromBase = await BERT.fromPretrained(join(FIXTURES, 'base'), { warn });
    expect(messages[0]).toMatch(/newly initialised.*cls\.predictions\.bias.*cls\.seq_relationship\.weight/);
    expect(values(fromBase.cls.predictions.bias).every((v) => v === 0)).toBe(true);
    fromBase.dispose();
    // A pretraining file into a classifier: the classifier is new, cls.* unused.
    messages.length = 0;
    const classifier = await BertForSequenceClassification.fromPretrained(join(FIXTURES, 'pretraining'), {
      warn,
    });
    expect(messages[0]).toMatch(/newly initialised.*classifier\.weight, classifier\.bias/);
    expect(messages[1]).toMatch(/not used by BertForSequenceClassification: cls\./);
    expect(values(classifier.bert.embeddings.word_embeddings.weight)).toEqual(
      values(bert.bert.embeddings.word_embeddings.weight),
    );
    classifier.dispose();
    // A classifier file into the masked-LM model (no pooler): the pooler and classifier are unused.
    messages.length = 0;
    const mlm = await BertForMaskedLM.fromPretrained(join(FIXTURES, 'classifier'), { warn });
    expect(messages[1]).toMatch(/not used by BertForMaskedLM: bert\.pooler\.dense\.weight/);
    expect(mlm.bert.pooler).toBeNull();
    mlm.dispose();
  });

  it('reads the tokenizer from vocab.txt (ids = line numbers) and tokenizer_config.json (lowercase)', async () => {
    const vocab = (await readFile(join(FIXTURES, 'pretraining', 'vocab.txt'), 'utf8')).split('\n');
    const e = bert.tokenizer!.encode('Call me Ishmael.');
    expect(e.tokens).toEqual(['[CLS]', 'call', 'me', 'ishmael', '.', '[SEP]']);
    expect(Array.from(e.ids)).toEqual(e.tokens.map((t) => vocab.indexOf(t)));
  });

  it('accepts tied decoder copies equal to their sources, LayerNorm gamma/beta names, and rejects an untied decoder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-bert-'));
    await bert.save(dir);
    const file = join(dir, 'model.safetensors');
    const tensors = await k.loadSafetensors(file);
    const renamed = Object.fromEntries(
      Object.entries(tensors).map(([n, t]) => [
        n.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'),
        t,
      ]),
    );
    const words = tensors['bert.embeddings.word_embeddings.weight'];
    const tied = {
      'cls.predictions.decoder.weight': words,
      'cls.predictions.decoder.bias': tensors['cls.predictions.bias'],
    };
    await k.saveSafetensors(file, { ...renamed, ...tied });
    const again = await BERT.fromPretrained(dir, silent);
    expect(values(again.bert.embeddings.LayerNorm.weight!)).toEqual(
      values(bert.bert.embeddings.LayerNorm.weight!),
    );
    again.dispose();
    await k.saveSafetensors(file, { ...tensors, ...tied, 'cls.predictions.decoder.weight': words.mul(2) });
    await expect(BERT.fromPretrained(dir, silent)).rejects.toThrow(
      /BertForPreTraining\.fromPretrained: cls\.predictions\.decoder\.weight differs from bert\.embeddings\.word_embeddings\.weight/,
    );
    await rm(dir, { recursive: true });
  });

  it('fails clearly on a folder without weights and on a checkpoint without the encoder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-bert-'));
    await bert.save(dir);
    const file = join(dir, 'model.safetensors');
    const tensors = await k.loadSafetensors(file);
    const headsOnly = Object.fromEntries(Object.entries(tensors).filter(([n]) => n.startsWith('cls.')));
    await k.saveSafetensors(file, headsOnly);
    await expect(BertModel.fromPretrained(dir, silent)).rejects.toThrow(
      /BertModel\.fromPretrained: the checkpoint lacks \d+ encoder weight\(s\) \(embeddings\.word_embeddings\.weight/,
    );
    await rm(file);
    await expect(BERT.fromPretrained(dir)).rejects.toThrow(/model\.safetensors not found/);
    await rm(dir, { recursive: true });
  });
});

describe('BERT.save', () => {
  it('writes config.json, model.safetensors (no tied copies), vocab.txt and tokenizer_config.json, read back unchanged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-bert-'));
    await bert.save(dir);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const reference = JSON.parse(
      await readFile(join(FIXTURES, 'pretraining', 'config.json'), 'utf8'),
    ) as Record<string, unknown>;
    for (const [key, value] of Object.entries(reference)) expect(config[key], key).toEqual(value);
    const saved = await k.loadSafetensors(join(dir, 'model.safetensors'));
    const written = await k.loadSafetensors(join(FIXTURES, 'pretraining', 'model.safetensors'));
    expect(Object.keys(saved).sort()).toEqual(Object.keys(written).sort());
    for (const name of Object.keys(written)) expect(values(saved[name]), name).toEqual(values(written[name]));
    expect(await readFile(join(dir, 'vocab.txt'), 'utf8')).toEqual(
      await readFile(join(FIXTURES, 'pretraining', 'vocab.txt'), 'utf8'),
    );
    expect(JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8'))).toMatchObject({
      do_lower_case: true,
    });
    const again = await BERT.fromPretrained(dir, silent);
    expect(again.tokenizer!.encode('the whale').tokens).toEqual(['[CLS]', 'the', 'whale', '[SEP]']);
    k.dispose([...Object.values(saved), ...Object.values(written)]);
    again.dispose();
    await rm(dir, { recursive: true });
  });

  it.skipIf(!hasTorch())(
    'writes folders the PyTorch BERT loads strictly and runs identically (needs /usr/bin/python3 + torch)',
    async () => {
      const classifier = await BertForSequenceClassification.fromPretrained(
        join(FIXTURES, 'classifier'),
        silent,
      );
      for (const model of [bert, classifier]) {
        const dir = await mkdtemp(join(tmpdir(), 'kiln-bert-'));
        await model.save(dir);
        const report = execFileSync('/usr/bin/python3', [REFERENCE_SCRIPT, '--check', dir], {
          encoding: 'utf8',
        });
        expect(report).toMatch(
          new RegExp(`${model.architecture} loaded strictly .* max \\|output difference\\| 0$`, 'm'),
        );
        await rm(dir, { recursive: true });
      }
      classifier.dispose();
    },
  );
});

describe('BERT errors', () => {
  it('names the op and the shapes', () => {
    const ids = k.tensor([[2, 5, 3]], { dtype: 'int32' });
    expect(() => bert.forward(k.tensor([[1.5]]))).toThrow(
      /BertForPreTraining\.forward: expected integer inputIds \[batch, seq\], got float32 \[1, 1\]/,
    );
    expect(() => bert.forward(ids, { attentionMask: k.ones([1, 4]) })).toThrow(
      /BertForPreTraining\.forward: attentionMask must be \[1, 3\] like inputIds, got \[1, 4\]/,
    );
    expect(() => bert.forward(k.zeros([1, 41], { dtype: 'int32' }))).toThrow(
      /sequence length 41 exceeds max_position_embeddings 40/,
    );
    expect(() => bert.forward(ids, { labels: k.tensor([1], { dtype: 'int32' }) })).toThrow(
      /labels must be \[1, 3\] like inputIds, got \[1\]/,
    );
    expect(() => new BertModel({ hidden_size: 30, num_attention_heads: 4 })).toThrow(
      /BertConfig: hidden_size \(30\) must be divisible by num_attention_heads \(4\)/,
    );
  });
});
