// GPT against the PyTorch reference of scripts/fixtures/gpt2.py: the same tiny GPT-2 saved in both
// Hugging Face layouts, with its logits, loss, one backward's gradients and a greedy continuation.
import '@kiln/backend-cpu';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k from '@kiln/core';
import { BPE, ByteLevelBPE } from '@kiln/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPT } from '../index.js';
import { relativeError } from '../testing/parity.js';

const FIXTURES = fileURLToPath(new URL('../../test-fixtures/gpt2/', import.meta.url));
const REFERENCE_SCRIPT = fileURLToPath(new URL('../../../../scripts/fixtures/gpt2.py', import.meta.url));

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
  logits: number[];
  logitsShape: number[];
  loss: number;
  greedy: { prompt: number[]; tokens: number[] };
}

let expected: Expected;
let model: GPT;

beforeAll(async () => {
  expected = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as Expected;
  model = await GPT.fromPretrained(join(FIXTURES, 'hf'));
});

afterAll(() => model.dispose());

describe('GPT.fromPretrained', () => {
  it('reads the config and uses Hugging Face parameter names, Conv1D weights stored [in, out]', () => {
    expect(model.config.n_layer).toBe(2);
    expect(model.config.activation_function).toBe('gelu_new');
    const names = [...model.namedParameters()].map(([n]) => n);
    expect(names.slice(0, 6)).toEqual([
      'wte.weight',
      'wpe.weight',
      'h.0.ln_1.weight',
      'h.0.ln_1.bias',
      'h.0.attn.c_attn.weight',
      'h.0.attn.c_attn.bias',
    ]);
    expect(model.h[0].attn.c_attn.weight.shape).toEqual([32, 96]);
    expect(model.h[0].mlp.c_fc.weight.shape).toEqual([32, 128]);
    expect(names).not.toContain('lm_head.weight');
    expect(model.training).toBe(false);
  });

  it('reads the older layout (bare keys, attn.bias / attn.masked_bias buffers) to the same weights', async () => {
    const legacy = await GPT.fromPretrained(join(FIXTURES, 'legacy'));
    const a = model.stateDict();
    const b = legacy.stateDict();
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const name of Object.keys(a)) expect(b[name].dataSync()).toEqual(a[name].dataSync());
    legacy.dispose();
  });

  it('accepts an explicit lm_head.weight equal to wte and rejects an untied one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-gpt-'));
    await model.save(dir);
    const file = join(dir, 'model.safetensors');
    const tensors = await k.loadSafetensors(file);
    const wte = tensors['transformer.wte.weight'];
    await k.saveSafetensors(file, { ...tensors, 'lm_head.weight': wte });
    (await GPT.fromPretrained(dir)).dispose();
    await k.saveSafetensors(file, { ...tensors, 'lm_head.weight': wte.mul(2) });
    await expect(GPT.fromPretrained(dir)).rejects.toThrow(/lm_head\.weight differs from wte\.weight/);
    await rm(dir, { recursive: true });
  });

  it('fails with a clear error when the folder has no weights', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-gpt-'));
    await model.save(dir);
    await rm(join(dir, 'model.safetensors'));
    await expect(GPT.fromPretrained(dir)).rejects.toThrow(/model\.safetensors not found/);
    await rm(dir, { recursive: true });
  });
});

describe('GPT parity with PyTorch', () => {
  it('gives the reference logits within 1e-4 relative', () => {
    const ids = k.tensor(expected.inputIds, { dtype: 'int32' });
    const { logits } = k.noGrad(() => model.forward(ids));
    expect(logits.shape).toEqual(expected.logitsShape);
    expect(relativeError(logits.dataSync() as Float32Array, expected.logits)).toBeLessThan(1e-4);
    k.dispose([ids, logits]);
  });

  it('gives the reference loss and every parameter gradient within 1e-3 relative', async () => {
    const grads = await k.loadSafetensors(join(FIXTURES, 'grads.safetensors'));
    const ids = k.tensor(expected.inputIds, { dtype: 'int32' });
    const { loss } = model.forward(ids, { labels: ids });
    expect(Math.abs(loss!.itemSync() - expected.loss) / expected.loss).toBeLessThan(1e-5);
    loss!.backward();
    const names = [...model.namedParameters()].map(([n]) => n);
    expect(names.sort()).toEqual(Object.keys(grads).sort());
    for (const [name, p] of model.namedParameters()) {
      const err = relativeError(p.grad!.dataSync() as Float32Array, grads[name].dataSync() as Float32Array);
      expect(err, name).toBeLessThan(1e-3);
    }
    model.zeroGrad();
    k.dispose([ids, loss!, ...Object.values(grads)]);
  });

  it('continues the prompt greedily with exactly the reference tokens', async () => {
    const prompt = k.tensor([expected.greedy.prompt], { dtype: 'int32' });
    const out = await model.generate(prompt, { maxNewTokens: 12 });
    expect(out.toArraySync()).toEqual([[...expected.greedy.prompt, ...expected.greedy.tokens]]);
    k.dispose([prompt, out]);
  });
});

describe('GPT.save', () => {
  it('writes config.json and model.safetensors in the current Hugging Face layout, read back unchanged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-gpt-'));
    await model.save(dir);
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const reference = JSON.parse(await readFile(join(FIXTURES, 'hf', 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(config).toEqual(reference);
    const saved = await k.loadSafetensors(join(dir, 'model.safetensors'));
    const written = await k.loadSafetensors(join(FIXTURES, 'hf', 'model.safetensors'));
    expect(Object.keys(saved).sort()).toEqual(Object.keys(written).sort());
    for (const name of Object.keys(written))
      expect(saved[name].dataSync(), name).toEqual(written[name].dataSync());
    const again = await GPT.fromPretrained(dir);
    const ids = k.tensor(expected.inputIds, { dtype: 'int32' });
    const [a, b] = k.noGrad(() => [model.forward(ids).logits, again.forward(ids).logits]);
    expect(b.dataSync()).toEqual(a.dataSync());
    k.dispose([ids, a, b, ...Object.values(saved), ...Object.values(written)]);
    again.dispose();
    await rm(dir, { recursive: true });
  });

  it('saves the tokenizer next to the weights, and fromPretrained reads it (tokenizer.json, or vocab.json + merges.txt)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-gpt-'));
    const text = 'the cat sat on the mat; the dog sat on the log. '.repeat(20);
    model.tokenizer = BPE.train([text], { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
    const ids = Array.from(model.tokenizer.encode('the cat sat').ids);
    await model.save(dir);
    model.tokenizer = null;
    const again = await GPT.fromPretrained(dir);
    expect(Array.from(again.tokenizer!.encode('the cat sat').ids)).toEqual(ids);
    again.dispose();
    await rm(join(dir, 'tokenizer.json'));
    const fromMerges = await GPT.fromPretrained(dir);
    const reference = await ByteLevelBPE.fromFiles(join(dir, 'vocab.json'), join(dir, 'merges.txt'));
    expect(Array.from(fromMerges.tokenizer!.encode('the cat sat').ids)).toEqual(
      Array.from(reference.encode('the cat sat').ids),
    );
    fromMerges.dispose();
    await rm(dir, { recursive: true });
  });

  it.skipIf(!hasTorch())(
    'writes a folder the PyTorch GPT-2 loads strictly and runs identically (needs /usr/bin/python3 + torch)',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'kiln-gpt-'));
      await model.save(dir);
      const report = execFileSync('/usr/bin/python3', [REFERENCE_SCRIPT, '--check', dir], {
        encoding: 'utf8',
      });
      expect(report).toMatch(/max \|logit difference\| 0$/m);
      await rm(dir, { recursive: true });
    },
  );
});
