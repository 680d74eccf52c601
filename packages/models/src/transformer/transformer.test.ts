// Transformer against the PyTorch reference of scripts/fixtures/transformer.py: torch.nn.Transformer
// with the same state dict plus embeddings, positional encoding and generator head; its logits,
// losses, one backward's gradients and greedy translations of a tiny model with fixed seeds.
import '@kiln/backend-cpu';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k from '@kiln/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Transformer } from '../index.js';
import { relativeError } from '../testing/parity.js';

const FIXTURES = fileURLToPath(new URL('../../test-fixtures/transformer/', import.meta.url));
const REFERENCE_SCRIPT = fileURLToPath(
  new URL('../../../../scripts/fixtures/transformer.py', import.meta.url),
);

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
  src: number[][];
  tgtIn: number[][];
  labels: number[][];
  logits: number[];
  logitsShape: number[];
  loss: number;
  lossLabelSmoothing01: number;
  greedy: { maxLength: number; translations: { src: number[]; tokens: number[] }[] };
}

let expected: Expected;
let model: Transformer;

beforeAll(async () => {
  expected = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as Expected;
  model = await Transformer.fromPretrained(join(FIXTURES, 'model'));
});

afterAll(() => model.dispose());

const ids = (rows: number[][]) => k.tensor(rows, { dtype: 'int32' });

describe('Transformer state dict', () => {
  it("names parameters as torch.nn.Transformer inside the tutorial's model, with no buffer saved", async () => {
    const names = Object.keys(model.stateDict());
    const file = await k.loadSafetensors(join(FIXTURES, 'model', 'model.safetensors'));
    expect(names).toEqual(Object.keys(file));
    k.dispose(file);
    expect(names.slice(0, 4)).toEqual([
      'src_embedding.weight',
      'tgt_embedding.weight',
      'transformer.encoder.layers.0.self_attn.in_proj_weight',
      'transformer.encoder.layers.0.self_attn.in_proj_bias',
    ]);
    expect(names).toContain('transformer.decoder.layers.1.multihead_attn.out_proj.weight');
    expect(names).toContain('transformer.encoder.norm.weight');
    expect(names).toContain('transformer.decoder.norm.bias');
    expect(names.slice(-2)).toEqual(['generator.weight', 'generator.bias']);
    expect(names.some((n) => n.includes('positional_encoding'))).toBe(false);
  });
});

describe('Transformer parity with PyTorch', () => {
  it('gives the reference logits of a padded batch within 1e-4 relative', () => {
    const [src, tgt] = [ids(expected.src), ids(expected.tgtIn)];
    const { logits } = k.noGrad(() => model.forward(src, tgt));
    expect(logits.shape).toEqual(expected.logitsShape);
    const err = relativeError(logits.dataSync() as Float32Array, expected.logits);
    expect(err).toBeLessThan(1e-4);
    k.dispose([src, tgt, logits]);
  });

  it('gives the reference loss (plain and label-smoothed) and every gradient within 1e-3 relative', async () => {
    const grads = await k.loadSafetensors(join(FIXTURES, 'grads.safetensors'));
    const [src, tgt, labels] = [ids(expected.src), ids(expected.tgtIn), ids(expected.labels)];
    model.train();
    try {
      const smoothed = k.noGrad(() => model.forward(src, tgt, { labels, labelSmoothing: 0.1 }).loss!);
      expect(Math.abs(smoothed.itemSync() - expected.lossLabelSmoothing01)).toBeLessThan(1e-5);
      const { loss } = model.forward(src, tgt, { labels });
      expect(Math.abs(loss!.itemSync() - expected.loss) / expected.loss).toBeLessThan(1e-5);
      model.zeroGrad();
      loss!.backward();
      const params = [...model.namedParameters()];
      expect(params.map(([n]) => n).sort()).toEqual(Object.keys(grads).sort());
      let worst = 0;
      for (const [name, p] of params) {
        const err = relativeError(p.grad!.dataSync() as Float32Array, grads[name].dataSync() as Float32Array);
        worst = Math.max(worst, err);
      }
      expect(worst).toBeLessThan(1e-3);
      model.zeroGrad();
      k.dispose([smoothed, loss!]);
    } finally {
      model.eval();
      k.dispose([src, tgt, labels, ...Object.values(grads)]);
    }
  });

  it("translates greedily to PyTorch's tokens", async () => {
    const { maxLength, translations } = expected.greedy;
    for (const ref of translations) {
      const out = await model.translate(ref.src, { maxLength });
      expect(out.tokens).toEqual(ref.tokens);
    }
  });
});

describe('Transformer.save / fromPretrained', () => {
  it('round-trips config and weights, and the folder loads strictly into the PyTorch model', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-transformer-'));
    try {
      await model.save(dir);
      const again = await Transformer.fromPretrained(dir);
      expect(again.config.toJSON()).toEqual(model.config.toJSON());
      const a = model.stateDict();
      const b = again.stateDict();
      expect(Object.keys(b)).toEqual(Object.keys(a));
      for (const name of Object.keys(a)) expect(b[name].dataSync()).toEqual(a[name].dataSync());
      expect(again.training).toBe(false);
      again.dispose();
      if (!hasTorch()) {
        console.warn('skipped the PyTorch load check: /usr/bin/python3 has no torch');
        return;
      }
      const report = execFileSync('/usr/bin/python3', [REFERENCE_SCRIPT, '--check', dir], {
        encoding: 'utf8',
      });
      expect(report).toMatch(/max \|logit difference\| 0\b/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('rejects unknown config fields and names a missing weights file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-transformer-'));
    try {
      await model.save(dir);
      await rm(join(dir, 'model.safetensors'));
      await expect(Transformer.fromPretrained(dir)).rejects.toThrow(/model\.safetensors/);
      await writeFile(join(dir, 'config.json'), JSON.stringify({ ...model.config.toJSON(), dropuot: 0.1 }));
      await expect(Transformer.fromPretrained(dir)).rejects.toThrow(/unknown field\(s\) dropuot/);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
