// A training loop for the models of this package: gradient accumulation, gradient clipping,
// linear warmup + cosine lr decay, periodic validation, a progress bar (loss, lr, tokens/s, ETA),
// the loss curve as SVG, atomic checkpoints every N steps, and exact resumption.
//
// Resumption is exact because nothing in a step depends on hidden state the checkpoint lacks:
// batches come from a pure function of (step, micro-batch) supplied by the caller, dropout draws
// from core's RNG (saved), and the optimizer and scheduler states are saved whole. A run killed
// at any point and resumed from its last checkpoint reproduces the uninterrupted run's losses.
//
// A time budget without a step count is turned into a step count after a few calibration steps
// (the cosine schedule needs to know where it ends); the count is then fixed and checkpointed,
// so a resumed run follows the same schedule.
import * as k from '@kiln/core';
import { disposeBatch, ProgressBar, type ProgressStream, writeLossCurve } from '@kiln/data';
import { nn, optim } from '@kiln/nn';
import { type JsonValue, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { warmupCosine } from './schedule.js';

type Optimizer = optim.Optimizer<{ lr: number }>;

export interface TrainerOptions<B> {
  model: nn.Module;
  optimizer: Optimizer;
  /** The loss of one micro-batch: a scalar with autograd history. */
  loss: (batch: B) => k.Tensor;
  /**
   * The micro-batch `micro` of optimizer step `step` (both from 0). It must depend only on its
   * arguments (e.g. draw from a Random seeded with [seed, step]), so a resumed run sees the same
   * data. Tensors in it are disposed after use.
   */
  batch: (step: number, micro: number) => B;
  /** Optimizer steps of the whole run. Either this or `timeLimit` (or both). */
  steps?: number;
  /** Seconds this call of fit() may train; without `steps`, the run's length is fitted to it. */
  timeLimit?: number;
  /** Micro-batches whose gradients are summed into one optimizer step (default 1). */
  gradAccumulation?: number;
  /** Clip the gradients' joint 2-norm to this before each step (default: no clipping). */
  maxGradNorm?: number;
  /** Linear warmup steps of the warmup + cosine schedule (default 0). */
  warmupSteps?: number;
  /** The cosine's final lr as a fraction of the base lr (default 0.1). */
  minLrRatio?: number;
  /** Mean validation loss; run in eval mode without autograd. */
  validate?: (model: nn.Module) => number | Promise<number>;
  /** Validate every this many steps (and at the end); default: only at the end. */
  validateEvery?: number;
  /** Write a checkpoint here every `checkpointEvery` steps and at the end. */
  checkpoint?: string;
  checkpointEvery?: number;
  /** Caller data stored in every checkpoint (a model config, a tokenizer path, ...). */
  checkpointExtra?: () => JsonValue;
  /** Write the loss curve (train and validation) as SVG here, at each validation and at the end. */
  lossCurve?: string;
  /** Tokens (or examples) per optimizer step, for the throughput shown (default: none shown). */
  tokensPerStep?: number;
  /** Where the progress bar goes (default process.stderr); false for none. */
  progress?: ProgressStream | false;
  /**
   * Steps timed before a time budget is turned into a step count (default 3; the count is fixed
   * at the end of the warmup if that is later).
   */
  calibrationSteps?: number;
  /** Called after every optimizer step. */
  onStep?: (record: StepRecord) => void | Promise<void>;
}

export interface StepRecord {
  /** Optimizer steps done, counting this one. */
  step: number;
  /** Mean loss over the step's micro-batches. */
  loss: number;
  /** Learning rate (first group) used by this step. */
  lr: number;
  /** Gradient 2-norm before clipping, when clipping is on. */
  gradNorm?: number;
}

export interface TrainingHistory {
  /** [step, mean training loss of that step]. */
  train: [number, number][];
  /** [step, validation loss]. */
  val: [number, number][];
}

export interface FitResult extends TrainingHistory {
  /** Steps done in all runs so far, and the run's planned total. */
  step: number;
  totalSteps: number;
  /** Seconds this fit() call trained. */
  seconds: number;
  /** Why it stopped: all steps done, the time budget ran out, or stop() was called. */
  stoppedBy: 'steps' | 'time' | 'stop';
}

/** The trainer's part of a checkpoint (next to the caller's `checkpointExtra`). */
interface TrainerRecord {
  totalSteps: number | null;
  history: TrainingHistory;
}

export class Trainer<B> {
  readonly options: TrainerOptions<B>;
  readonly scheduler: optim.lrScheduler.LRScheduler;
  /** Optimizer steps taken (restored by resume()). */
  step = 0;
  /** The run's length in optimizer steps; NaN until a time budget is calibrated. */
  totalSteps: number;
  readonly history: TrainingHistory = { train: [], val: [] };
  private readonly accumulation: number;
  private stopRequested = false;

  constructor(options: TrainerOptions<B>) {
    const { steps, timeLimit } = options;
    if (steps === undefined && timeLimit === undefined)
      throw new Error('Trainer: give steps, timeLimit, or both');
    if (steps !== undefined && !(Number.isInteger(steps) && steps >= 1))
      throw new RangeError(`Trainer: steps must be a positive integer (got ${steps})`);
    if (timeLimit !== undefined && !(timeLimit > 0))
      throw new RangeError(`Trainer: timeLimit must be a positive number of seconds (got ${timeLimit})`);
    this.accumulation = options.gradAccumulation ?? 1;
    if (!(Number.isInteger(this.accumulation) && this.accumulation >= 1))
      throw new RangeError(
        `Trainer: gradAccumulation must be a positive integer (got ${options.gradAccumulation})`,
      );
    for (const key of ['validateEvery', 'checkpointEvery', 'calibrationSteps'] as const) {
      const v = options[key];
      if (v !== undefined && !(Number.isInteger(v) && v >= 1))
        throw new RangeError(`Trainer: ${key} must be a positive integer (got ${v})`);
    }
    this.options = options;
    this.totalSteps = steps ?? Number.NaN;
    const warmupSteps = options.warmupSteps ?? 0;
    const minLrRatio = options.minLrRatio ?? 0.1;
    // Until a time budget is calibrated the end is unknown: warmup, then the base lr.
    this.scheduler = new optim.lrScheduler.LambdaLR(options.optimizer, (s: number) =>
      Number.isNaN(this.totalSteps)
        ? Math.min(1, warmupSteps > 0 ? s / warmupSteps : 1)
        : warmupCosine(s, { warmupSteps, totalSteps: this.totalSteps, minLrRatio }),
    );
  }

  /** Continues from a checkpoint written by this trainer's configuration; returns the step reached. */
  async resume(path: string): Promise<number> {
    const { model, optimizer } = this.options;
    const saved = await loadCheckpoint(path, { model, optimizer, scheduler: this.scheduler });
    const record = saved.extra as unknown as { trainer: TrainerRecord };
    this.step = saved.step;
    this.totalSteps = record.trainer.totalSteps ?? Number.NaN;
    this.history.train = record.trainer.history.train;
    this.history.val = record.trainer.history.val;
    k.setRngState(saved.rng);
    return this.step;
  }

  /** Writes a checkpoint of the current state (fit() does so on its own schedule). */
  async save(path: string): Promise<void> {
    const { model, optimizer } = this.options;
    const trainer: TrainerRecord = {
      totalSteps: Number.isNaN(this.totalSteps) ? null : this.totalSteps,
      history: this.history,
    };
    const extra = {
      trainer: trainer as unknown as JsonValue,
      user: this.options.checkpointExtra?.() ?? null,
    };
    await saveCheckpoint(path, { model, optimizer, scheduler: this.scheduler }, { step: this.step, extra });
  }

  /**
   * Ends fit() after the current step, validating and checkpointing where it stopped (what a
   * program does on Ctrl-C, or a callback that decides the run has gone far enough).
   */
  stop(): void {
    this.stopRequested = true;
  }

  /** Trains until the planned steps are done, the time budget runs out, or stop() is called. */
  async fit(): Promise<FitResult> {
    const o = this.options;
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    // The warmup does not depend on the run's length, so a time budget is calibrated at its end
    // (or after calibrationSteps, if later). The first step is not timed: it pays one-off costs
    // (kernel compilation, allocator growth).
    const firstStep = this.step;
    const calibrateAt = firstStep + Math.max(1 + Math.max(1, o.calibrationSteps ?? 3), o.warmupSteps ?? 0);
    let timedSeconds = 0;
    let bar = this.makeBar();
    let stoppedBy: FitResult['stoppedBy'] = 'steps';
    this.stopRequested = false;
    o.model.train();
    while (Number.isNaN(this.totalSteps) || this.step < this.totalSteps) {
      if (o.timeLimit !== undefined && elapsed() >= o.timeLimit) stoppedBy = 'time';
      if (this.stopRequested) stoppedBy = 'stop';
      if (stoppedBy !== 'steps') break;
      const t0 = performance.now();
      const record = await this.trainStep();
      if (this.step > firstStep + 1) timedSeconds += (performance.now() - t0) / 1000;
      this.history.train.push([this.step, record.loss]);
      bar?.update(1, this.metrics(record, bar));
      if (Number.isNaN(this.totalSteps) && this.step >= calibrateAt && o.timeLimit !== undefined) {
        // Fit the run to the budget from the mean step time; validation and checkpoints also
        // take time, hence the margin (the time check above catches any overshoot).
        const perStep = timedSeconds / (this.step - firstStep - 1);
        this.totalSteps = this.step + Math.max(1, Math.floor(((o.timeLimit - elapsed()) / perStep) * 0.95));
        bar?.finish();
        bar = this.makeBar();
      }
      await o.onStep?.(record);
      const last = this.step === this.totalSteps;
      if (o.validate && ((o.validateEvery && this.step % o.validateEvery === 0) || last))
        await this.runValidation(bar);
      if (o.checkpoint && ((o.checkpointEvery && this.step % o.checkpointEvery === 0) || last))
        await this.save(o.checkpoint);
    }
    if (stoppedBy !== 'steps') {
      // The run ended early: record where it got to.
      if (o.validate && this.history.val.at(-1)?.[0] !== this.step) await this.runValidation(bar);
      if (o.checkpoint) await this.save(o.checkpoint);
    }
    bar?.finish();
    if (o.lossCurve) await this.writeCurve(o.lossCurve);
    return {
      ...this.history,
      step: this.step,
      totalSteps: this.totalSteps,
      seconds: elapsed(),
      stoppedBy,
    };
  }

  private makeBar(): ProgressBar | null {
    const { progress } = this.options;
    if (progress === false) return null;
    const total = Number.isNaN(this.totalSteps) ? undefined : this.totalSteps;
    const bar = new ProgressBar({
      total,
      label: total === undefined ? 'calibrating' : 'train',
      unit: 'step',
      ...(progress ? { stream: progress } : {}),
    });
    bar.n = this.step;
    return bar;
  }

  private metrics(record: StepRecord, bar: ProgressBar): Record<string, number | string> {
    const m: Record<string, number | string> = { loss: record.loss, lr: record.lr.toExponential(2) };
    const val = this.history.val.at(-1);
    if (val) m.val = val[1];
    const { tokensPerStep } = this.options;
    if (tokensPerStep !== undefined && bar.rate > 0) m['tok/s'] = Math.round(bar.rate * tokensPerStep);
    return m;
  }

  private async trainStep(): Promise<StepRecord> {
    const o = this.options;
    const params = o.optimizer.paramGroups.flatMap((g) => g.params);
    const lr = o.optimizer.paramGroups[0].lr;
    o.optimizer.zeroGrad();
    let sum = 0;
    for (let micro = 0; micro < this.accumulation; micro++) {
      const batch = o.batch(this.step, micro);
      try {
        // Each micro-batch's loss is divided by their number, so the summed gradients are those
        // of the mean loss over the whole step, as with one big batch.
        const loss = k.tidy(() => {
          const l = o.loss(batch);
          l.div(this.accumulation).backward();
          return l.detach();
        });
        sum += await loss.item();
        loss.dispose();
      } finally {
        disposeBatch(batch);
      }
    }
    let gradNorm: number | undefined;
    if (o.maxGradNorm !== undefined) {
      const norm = nn.utils.clipGradNorm_(params, o.maxGradNorm);
      gradNorm = await norm.item();
      norm.dispose();
    }
    o.optimizer.step();
    this.scheduler.step();
    this.step++;
    const record: StepRecord = { step: this.step, loss: sum / this.accumulation, lr };
    if (gradNorm !== undefined) record.gradNorm = gradNorm;
    return record;
  }

  private async runValidation(bar: ProgressBar | null): Promise<void> {
    const { model, validate } = this.options;
    if (!validate) return;
    model.eval();
    try {
      const loss = await k.noGrad(() => validate(model));
      this.history.val.push([this.step, loss]);
      bar?.set({ val: loss });
    } finally {
      model.train();
    }
    if (this.options.lossCurve) await this.writeCurve(this.options.lossCurve);
  }

  private async writeCurve(path: string): Promise<void> {
    await writeLossCurve(
      path,
      [
        { name: 'train', points: this.history.train },
        { name: 'validation', points: this.history.val },
      ],
      { title: 'Loss', xLabel: 'step', yLabel: 'cross-entropy (nats/token)' },
    );
  }
}
