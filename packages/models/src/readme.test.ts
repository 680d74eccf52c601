// The README's from-scratch example, kept runnable: training lowers the loss, save + fromPretrained
// round-trips, and generation and streaming give [B, T + new] tokens.
import '@kiln/backend-cpu';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k from '@kiln/core';
import { optim } from '@kiln/nn';
import { expect, it } from 'vitest';
import { GPT, streamGenerate } from './index.js';

it('the README example trains, saves, loads back and generates', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-readme-'));
  k.manualSeed(0);
  const model = new GPT({ vocab_size: 64, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 4 });
  const opt = new optim.AdamW(model.parameters(), { lr: 3e-3 });
  const batch = k.randint(0, 64, [4, 16], { dtype: 'int32' });
  const losses: number[] = [];
  for (let step = 0; step < 10; step++) {
    k.tidy(() => {
      opt.zeroGrad();
      const { loss } = model.forward(batch, { labels: batch });
      loss!.backward();
      opt.step();
      losses.push(loss!.itemSync());
    });
  }
  expect(losses[9]).toBeLessThan(losses[0]);
  await model.save(dir);
  const again = await GPT.fromPretrained(dir);
  const prompt = batch.slice(1, 0, 4);
  const greedy = await again.generate(prompt, { maxNewTokens: 8 });
  expect(greedy.shape).toEqual([4, 12]);
  const steps: number[][] = [];
  for await (const step of streamGenerate(again, prompt, { maxNewTokens: 8, doSample: true, seed: 1 }))
    steps.push(step.tokens);
  expect(steps.length).toBe(8);
  expect(steps.every((s) => s.length === 4 && s.every((t) => t >= 0 && t < 64))).toBe(true);
  model.dispose();
  again.dispose();
  opt.dispose();
  await rm(dir, { recursive: true });
});
