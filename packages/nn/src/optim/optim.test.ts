// Optimizers and schedulers against torch.optim (scripts/fixtures/nn_optim.py): 20-step parameter
// trajectories of a small MLP for each configuration (momentum, dampening, Nesterov, weight decay,
// AMSGrad, centered RMSprop, parameter groups, lr changed mid-run), and lr schedules step by step.
import * as k from '@kiln/core';
import '@kiln/backend-cpu';
import { afterAll, describe, expect, it } from 'vitest';
import { nn, optim } from '../index.js';
import {
  type EncodedTensor,
  expectClose,
  F64,
  readFixture,
  reportErrors,
  type Tolerance,
  toStateDict,
} from '../testing/fixtures.js';

type Options = Record<string, unknown>;

interface Trajectory {
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
  options: Options;
  groups: [Options, Options] | null;
  lrChange: { afterStep: number; group: number; lr: number } | null;
  initial: Record<string, EncodedTensor>;
  losses: number[];
  steps: Record<string, EncodedTensor>[];
}

interface Schedule {
  optimizer: 'SGD' | 'Adam';
  options: Options;
  lrs: number[][];
  momenta: number[][] | null;
}

const fixture = readFixture<{
  torch_version: string;
  data: { x: EncodedTensor; y: EncodedTensor };
  trajectories: Record<string, Trajectory>;
  schedules: Record<string, Schedule>;
}>('optim.json');

type AnyOptimizer = optim.Optimizer<{ lr: number }>;
type OptimizerCtor = new (params: unknown, options: Options) => AnyOptimizer;

function makeOptimizer(name: string, params: unknown, options: Options): AnyOptimizer {
  const ctor = (optim as unknown as Record<string, OptimizerCtor>)[name];
  return new ctor(params, options);
}

function mlp(dtype: k.DType): nn.Sequential {
  return new nn.Sequential(new nn.Linear(4, 5, { dtype }), new nn.Tanh(), new nn.Linear(5, 2, { dtype }));
}

function runTrajectory(
  name: string,
  t: Trajectory,
  data: { x: EncodedTensor; y: EncodedTensor },
  dtype: k.DType,
  tol: Tolerance,
): void {
  const model = mlp(dtype);
  model.loadStateDict(toStateDict(t.initial, dtype));
  const params = t.groups
    ? [
        { params: model[0].parameters(), ...t.groups[0] },
        { params: model[2].parameters(), ...t.groups[1] },
      ]
    : model.parameters();
  const opt = makeOptimizer(t.optimizer, params, t.options);
  const x = k.tensor(data.x.data as number[], { dtype }).reshape(data.x.shape);
  const y = k.tensor(data.y.data as number[], { dtype }).reshape(data.y.shape);
  t.steps.forEach((expected, i) => {
    if (t.lrChange && i === t.lrChange.afterStep) opt.paramGroups[t.lrChange.group].lr = t.lrChange.lr;
    const loss = k.tidy(() => {
      opt.zeroGrad();
      const l = model.forward(x).sub(y).square().mean();
      l.backward();
      opt.step();
      return l.itemSync();
    });
    expect(Math.abs(loss - t.losses[i])).toBeLessThanOrEqual(tol.rtol * Math.abs(t.losses[i]) + tol.atol);
    const sd = model.stateDict();
    for (const [key, want] of Object.entries(expected))
      expectClose(sd[key], want, tol, `${name} ${dtype} step ${i + 1} ${key}`);
  });
}

describe(`optimizer trajectories match torch.optim ${fixture.torch_version}`, () => {
  afterAll(() => reportErrors('optimizer trajectories'));
  for (const [name, t] of Object.entries(fixture.trajectories)) {
    it(`${name}: 20 steps (float64)`, () => runTrajectory(name, t, fixture.data, 'float64', F64));
    it(`${name}: 20 steps (float32)`, () =>
      runTrajectory(name, t, fixture.data, 'float32', { rtol: 1e-4, atol: 1e-4 }));
  }
});

const LAMBDAS: Record<string, ((e: number) => number) | ((e: number) => number)[]> = {
  lambda_lr: (e) => 0.95 ** e,
  lambda_lr_per_group: [(e) => 1 / (e + 1), (e) => (e % 2 ? 0.5 : 1)],
};

function makeScheduler(name: string, opt: AnyOptimizer): optim.lrScheduler.LRScheduler {
  const s = optim.lrScheduler;
  switch (name) {
    case 'step_lr':
      return new s.StepLR(opt, 3, 0.5);
    case 'multi_step_lr':
      return new s.MultiStepLR(opt, [2, 5, 5, 9], 0.3);
    case 'exponential_lr':
      return new s.ExponentialLR(opt, 0.9);
    case 'cosine_annealing_lr':
      return new s.CosineAnnealingLR(opt, 10, 0.001);
    case 'linear_lr_warmup':
      return new s.LinearLR(opt, { startFactor: 0.25, endFactor: 1, totalIters: 6 });
    case 'linear_lr_decay':
      return new s.LinearLR(opt, { startFactor: 1, endFactor: 0.1, totalIters: 4 });
    case 'lambda_lr':
    case 'lambda_lr_per_group':
      return new s.LambdaLR(opt, LAMBDAS[name]);
    case 'one_cycle_sgd':
      return new s.OneCycleLR(opt, { maxLr: [0.1, 0.2], totalSteps: 25 });
    case 'one_cycle_adam_three_phase_linear':
      return new s.OneCycleLR(opt, {
        maxLr: 0.05,
        totalSteps: 30,
        pctStart: 0.25,
        annealStrategy: 'linear',
        threePhase: true,
        divFactor: 10,
        finalDivFactor: 100,
      });
    default:
      throw new Error(`no scheduler for ${name}`);
  }
}

describe(`lr schedules match torch.optim.lr_scheduler ${fixture.torch_version}`, () => {
  for (const [name, sch] of Object.entries(fixture.schedules)) {
    it(name, () => {
      const a = k.zeros([2], { dtype: 'float64', requiresGrad: true });
      const b = k.zeros([3], { dtype: 'float64', requiresGrad: true });
      const opt = makeOptimizer(
        sch.optimizer,
        [{ params: [a] }, { params: [b], lr: (sch.options.lr as number) * 3 }],
        sch.options,
      );
      const scheduler = makeScheduler(name, opt);
      const momentum = () =>
        opt.paramGroups.map((g) =>
          sch.optimizer === 'Adam' ? (g.betas as number[])[0] : (g.momentum as number),
        );
      sch.lrs.forEach((want, i) => {
        if (i > 0) {
          opt.step();
          scheduler.step();
        }
        const got = scheduler.getLastLr();
        expect(got.length).toBe(want.length);
        for (let j = 0; j < got.length; j++) expect(got[j]).toBeCloseTo(want[j], 14);
        if (sch.momenta) {
          const m = momentum();
          for (let j = 0; j < m.length; j++) expect(m[j]).toBeCloseTo(sch.momenta[i][j], 14);
        }
      });
    });
  }
});
