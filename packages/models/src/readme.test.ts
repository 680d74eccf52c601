// The README's from-scratch example, kept runnable: training lowers the loss, save + fromPretrained
// round-trips, and generation and streaming give [B, T + new] tokens.
import '@kiln/backend-cpu';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k from '@kiln/core';
import { Random } from '@kiln/data';
import { optim } from '@kiln/nn';
import { expect, it } from 'vitest';
import { GPT, streamGenerate, Trainer } from './index.js';

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

it('the README trainer example trains with validation, checkpoints, resumes and plots', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kiln-readme-trainer-'));
  const run = (steps: number) => {
    k.manualSeed(0);
    const model = new GPT({ vocab_size: 64, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 4 });
    const corpus = Int32Array.from({ length: 5000 }, (_, i) => (i * i + 7 * i) % 64);
    const windows = (rng: Random, n: number) =>
      k.tensor(
        Array.from({ length: n }, () => {
          const start = rng.int(corpus.length - 32);
          return Array.from(corpus.subarray(start, start + 32));
        }),
        { dtype: 'int32' },
      );
    return new Trainer({
      model,
      optimizer: new optim.AdamW(model.parameters(), { lr: 3e-3 }),
      loss: (ids: k.Tensor) => model.forward(ids, { labels: ids }).loss!,
      batch: (step, micro) => windows(new Random(0, step * 16 + micro), 8),
      steps,
      gradAccumulation: 2,
      maxGradNorm: 1,
      warmupSteps: 5,
      validate: async (m) => {
        const ids = windows(new Random(1), 8);
        const loss = await (m as GPT).forward(ids, { labels: ids }).loss!.item();
        ids.dispose();
        return loss;
      },
      validateEvery: 10,
      checkpoint: join(dir, 'checkpoint.safetensors'),
      checkpointEvery: 10,
      lossCurve: join(dir, 'loss.svg'),
      tokensPerStep: 2 * 8 * 32,
      progress: false,
    });
  };
  const first = run(30);
  first.options.onStep = (r) => {
    if (r.step === 20) first.stop();
  };
  await first.fit();
  const trainer = run(30);
  expect(await trainer.resume(join(dir, 'checkpoint.safetensors'))).toBe(20);
  const result = await trainer.fit();
  expect(result.step).toBe(30);
  expect(result.val.map(([s]) => s)).toEqual([10, 20, 30]);
  expect(result.val[2][1]).toBeLessThan(result.val[0][1]);
  await rm(dir, { recursive: true });
});
