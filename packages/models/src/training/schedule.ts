// The learning-rate schedule most transformer training uses: linear warmup from 0, then a cosine
// decay to a floor. The factor multiplies each group's base lr (it is a LambdaLR lambda), and is
// Hugging Face's get_cosine_schedule_with_warmup (num_cycles 0.5) with nanoGPT's min-lr floor:
//   step < warmup:  step / warmup
//   after:          floor + (1 - floor) * 0.5 * (1 + cos(pi * progress)),
//                   progress = (step - warmup) / (total - warmup), clamped to [0, 1].

export interface WarmupCosineOptions {
  warmupSteps: number;
  /** Optimizer steps of the whole run; the cosine reaches the floor there. */
  totalSteps: number;
  /** lr at the end as a fraction of the base lr (default 0.1, nanoGPT's min_lr = lr / 10). */
  minLrRatio?: number;
}

export function warmupCosine(step: number, options: WarmupCosineOptions): number {
  const { warmupSteps, totalSteps } = options;
  const floor = options.minLrRatio ?? 0.1;
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0))
    throw new RangeError(`warmupCosine: warmupSteps must be a non-negative integer (got ${warmupSteps})`);
  if (!(totalSteps > 0))
    throw new RangeError(`warmupCosine: totalSteps must be positive (got ${totalSteps})`);
  if (!(floor >= 0 && floor <= 1))
    throw new RangeError(`warmupCosine: minLrRatio must be in [0, 1] (got ${floor})`);
  if (step < warmupSteps) return step / warmupSteps;
  const span = totalSteps - warmupSteps;
  const progress = span > 0 ? Math.min(1, Math.max(0, (step - warmupSteps) / span)) : 1;
  return floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
