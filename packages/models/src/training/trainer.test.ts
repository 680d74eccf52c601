// The trainer's contract: accumulation equals one big batch, clipping bounds the update, the lr
// follows warmup + cosine, a time budget becomes a fixed step count, validation and the loss
// curve happen when asked, and a run resumed from a checkpoint reproduces the uninterrupted one
// exactly (model, AdamW moments, schedule, dropout RNG, step, history).
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k from '@kiln/core';
import '@kiln/backend-cpu';
import { nn, optim } from '@kiln/nn';
import { describe, expect, it } from 'vitest';
import { GPT } from '../gpt/model.js';
import { readCheckpointInfo } from './checkpoint.js';
import { warmupCosine } from './schedule.js';
import { type StepRecord, Trainer } from './trainer.js';

/** Rows of a fixed random regression problem; batch (step, micro) is a pure function of both. */
function regression() {
  k.manualSeed(3);
  const x = k.randn([64, 5]);
  const y = x.matmul(k.randn([5, 2])).add(0.1);
  const rows = (start: number, count: number) =>
    [x.slice(0, start, start + count), y.slice(0, start, start + count)] as const;
  return { x, y, rows };
}

function linearModel(seed: number): nn.Linear {
  k.manualSeed(seed);
  return new nn.Linear(5, 2);
}

const mse = ([x, y]: readonly [k.Tensor, k.Tensor], model: nn.Linear) =>
  model.forward(x).sub(y).square().mean();

async function params(model: nn.Module): Promise<number[]> {
  const out: number[] = [];
  for (const p of model.parameters()) out.push(...((await p.data()) as Float32Array));
  return out;
}

describe('Trainer', () => {
  it('sums gradient accumulation into the step one big batch would take', async () => {
    const { rows } = regression();
    const run = async (accumulation: number) => {
      const model = linearModel(1);
      const trainer = new Trainer({
        model,
        optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }),
        loss: (b: readonly [k.Tensor, k.Tensor]) => mse(b, model),
        // Views of the shared data: the batch owns nothing to dispose.
        batch: (step, micro) => {
          const size = 16 / accumulation;
          const [x, y] = rows(step * 16 + micro * size, size);
          return [x.clone(), y.clone()] as const;
        },
        steps: 3,
        gradAccumulation: accumulation,
        progress: false,
      });
      await trainer.fit();
      return params(model);
    };
    const one = await run(1);
    const four = await run(4);
    four.forEach((v, i) => {
      expect(v).toBeCloseTo(one[i], 6);
    });
  });

  it('clips the gradient norm: an SGD step then moves the parameters by exactly lr * maxNorm', async () => {
    const { rows } = regression();
    const model = linearModel(2);
    const before = await params(model);
    const records: StepRecord[] = [];
    const trainer = new Trainer({
      model,
      optimizer: new optim.SGD(model.parameters(), { lr: 0.5 }),
      loss: (b: readonly [k.Tensor, k.Tensor]) => mse(b, model).mul(100),
      batch: () => {
        const [x, y] = rows(0, 32);
        return [x.clone(), y.clone()] as const;
      },
      steps: 1,
      maxGradNorm: 0.01,
      progress: false,
      onStep: (r) => {
        records.push(r);
      },
    });
    await trainer.fit();
    const after = await params(model);
    const moved = Math.hypot(...after.map((v, i) => v - before[i]));
    expect(records[0].gradNorm).toBeGreaterThan(0.01);
    expect(moved).toBeCloseTo(0.5 * 0.01, 6);
  });

  it('follows linear warmup then cosine decay to the floor (Hugging Face get_cosine_schedule_with_warmup)', async () => {
    const { rows } = regression();
    const model = linearModel(1);
    const lrs: number[] = [];
    await new Trainer({
      model,
      optimizer: new optim.SGD(model.parameters(), { lr: 2 }),
      loss: (b: readonly [k.Tensor, k.Tensor]) => mse(b, model).mul(0),
      batch: () => rows(0, 4),
      steps: 10,
      warmupSteps: 2,
      minLrRatio: 0.1,
      progress: false,
      onStep: (r) => {
        lrs.push(r.lr);
      },
    }).fit();
    // By hand: warmup 0/2, 1/2; then 0.1 + 0.9 * (1 + cos(pi * (s - 2) / 8)) / 2 for s = 2..9.
    const expected = [
      0,
      0.5,
      ...[0, 1, 2, 3, 4, 5, 6, 7].map((j) => 0.1 + 0.45 * (1 + Math.cos((Math.PI * j) / 8))),
    ];
    lrs.forEach((lr, i) => {
      expect(lr).toBeCloseTo(2 * expected[i], 12);
    });
    expect(warmupCosine(10, { warmupSteps: 2, totalSteps: 10 })).toBeCloseTo(0.1, 15);
    expect(warmupCosine(50, { warmupSteps: 2, totalSteps: 10, minLrRatio: 0 })).toBe(0);
    expect(() => warmupCosine(1, { warmupSteps: 1.5, totalSteps: 10 })).toThrow(
      /warmupSteps must be a non-negative integer/,
    );
  });

  it('turns a time budget into a fixed step count after calibration, and stops in time', async () => {
    const { rows } = regression();
    const model = linearModel(1);
    const trainer = new Trainer({
      model,
      optimizer: new optim.SGD(model.parameters(), { lr: 0.01 }),
      loss: (b: readonly [k.Tensor, k.Tensor]) => mse(b, model),
      batch: () => rows(0, 8),
      timeLimit: 0.5,
      calibrationSteps: 2,
      progress: false,
    });
    const result = await trainer.fit();
    expect(Number.isInteger(result.totalSteps)).toBe(true);
    expect(result.totalSteps).toBeGreaterThan(2);
    expect(result.seconds).toBeLessThan(1.5);
    expect(result.step).toBeLessThanOrEqual(result.totalSteps);
    expect(result.train.length).toBe(result.step);
  });

  it('validates on schedule in eval mode without autograd, and writes the loss curve as SVG', async () => {
    const { rows } = regression();
    const model = linearModel(1);
    const dir = await mkdtemp(join(tmpdir(), 'kiln-trainer-'));
    const seen: { training: boolean; grad: boolean }[] = [];
    const result = await new Trainer({
      model,
      optimizer: new optim.SGD(model.parameters(), { lr: 0.05 }),
      loss: (b: readonly [k.Tensor, k.Tensor]) => mse(b, model),
      batch: (step) => rows((step * 8) % 48, 8),
      steps: 7,
      validate: async (m) => {
        seen.push({ training: m.training, grad: k.isGradEnabled() });
        return mse(rows(48, 16), model).item();
      },
      validateEvery: 3,
      lossCurve: join(dir, 'loss.svg'),
      progress: false,
    }).fit();
    expect(result.val.map(([s]) => s)).toEqual([3, 6, 7]);
    expect(seen).toEqual(Array(3).fill({ training: false, grad: false }));
    expect(model.training).toBe(true);
    const svg = await readFile(join(dir, 'loss.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('validation');
  });

  it('resumes from a checkpoint exactly: same losses as the uninterrupted run (AdamW, dropout, schedule)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kiln-resume-'));
    const config = {
      vocab_size: 40,
      n_positions: 16,
      n_embd: 16,
      n_layer: 2,
      n_head: 2,
      resid_pdrop: 0.2,
      attn_pdrop: 0.1,
    };
    const make = (checkpoint?: string) => {
      k.manualSeed(11);
      const model = new GPT(config);
      const trainer = new Trainer({
        model,
        optimizer: new optim.AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0.1 }),
        loss: (ids: k.Tensor) => model.forward(ids, { labels: ids }).loss!,
        batch: (step, micro) => {
          const rows = Array.from({ length: 4 * 12 }, (_, i) => (step * 31 + micro * 17 + i * 7) % 40);
          return k.tensor(rows, { dtype: 'int32' }).reshape([4, 12]);
        },
        steps: 10,
        gradAccumulation: 2,
        maxGradNorm: 1,
        warmupSteps: 3,
        validate: () => {
          const ids = k.arange(0, 24, 1, { dtype: 'int32' }).remainder(40).reshape([2, 12]);
          return model.forward(ids, { labels: ids }).loss!.item();
        },
        validateEvery: 5,
        checkpoint,
        checkpointEvery: 4,
        checkpointExtra: () => ({ config }),
        progress: false,
      });
      return trainer;
    };
    const full = await make().fit();
    const path = join(dir, 'run.safetensors');
    // A first run stopped after step 8 (as Ctrl-C would), then a fresh process-like
    // start: new model, new optimizer, different RNG state, resumed from the file.
    const first = make(path);
    first.options.onStep = (r) => {
      if (r.step === 8) first.stop();
    };
    await first.fit();
    expect((await readCheckpointInfo(path)).extra).toMatchObject({
      user: { config },
      trainer: { totalSteps: 10 },
    });
    k.manualSeed(999);
    const second = make(path);
    expect(await second.resume(path)).toBe(8);
    const resumed = await second.fit();
    expect(resumed.train).toEqual(full.train);
    // The stopped run also validated where it stopped (step 8); the rest is the same schedule.
    expect(resumed.val.filter(([s]) => s !== 8)).toEqual(full.val);
    expect(resumed.val.map(([s]) => s)).toEqual([5, 8, 10]);
  });

  it('rejects bad settings with messages that name them', () => {
    const model = linearModel(1);
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.1 });
    const base = { model, optimizer, loss: () => k.tensor(0), batch: () => null };
    expect(() => new Trainer(base)).toThrow(/give steps, timeLimit, or both/);
    expect(() => new Trainer({ ...base, steps: 0 })).toThrow(/steps must be a positive integer \(got 0\)/);
    expect(() => new Trainer({ ...base, steps: 5, gradAccumulation: 0 })).toThrow(/gradAccumulation/);
    expect(() => new Trainer({ ...base, steps: 5, validateEvery: 2.5 })).toThrow(/validateEvery/);
  });
});
