// RMSprop (centered, momentum) and Adagrad, as torch.optim (1.13) computes them.
import * as k from '@kiln/core';
import { Optimizer, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface RMSpropOptions {
  lr?: number;
  alpha?: number;
  eps?: number;
  weightDecay?: number;
  momentum?: number;
  centered?: boolean;
  maximize?: boolean;
}

type RMSpropHyper = Required<RMSpropOptions>;

export class RMSprop extends Optimizer<RMSpropHyper> {
  constructor(params: ParamsInput<RMSpropHyper>, options: RMSpropOptions = {}) {
    super('RMSprop', params, {
      lr: options.lr ?? 1e-2,
      alpha: options.alpha ?? 0.99,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
      momentum: options.momentum ?? 0,
      centered: options.centered ?? false,
      maximize: options.maximize ?? false,
    });
  }

  protected override validate(g: ParamGroup<RMSpropHyper>): void {
    super.validate(g);
    if (!(g.eps >= 0)) throw new RangeError(`RMSprop: Invalid epsilon value: ${g.eps}`);
    if (!(g.momentum >= 0)) throw new RangeError(`RMSprop: Invalid momentum value: ${g.momentum}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`RMSprop: Invalid weight_decay value: ${g.weightDecay}`);
    if (!(g.alpha >= 0)) throw new RangeError(`RMSprop: Invalid alpha value: ${g.alpha}`);
  }

  protected updateGroup(g: ParamGroup<RMSpropHyper>): void {
    for (const p of g.params) {
      let grad = this.gradOf(p, g.maximize);
      if (grad === null) continue;
      const s = this.stateOf(p, () => ({
        step: 0,
        squareAvg: k.zerosLike(p),
        ...(g.momentum > 0 ? { momentumBuffer: k.zerosLike(p) } : {}),
        ...(g.centered ? { gradAvg: k.zerosLike(p) } : {}),
      }));
      s.step = (s.step as number) + 1;
      if (g.weightDecay !== 0) grad = grad.add(p, g.weightDecay);
      const squareAvg = (s.squareAvg as k.Tensor).mul_(g.alpha).add_(grad.square(), 1 - g.alpha);
      let avg: k.Tensor;
      if (g.centered) {
        const gradAvg = (s.gradAvg as k.Tensor).mul_(g.alpha).add_(grad, 1 - g.alpha);
        avg = squareAvg.sub(gradAvg.square()).sqrt();
      } else avg = squareAvg.sqrt();
      avg = avg.add(g.eps);
      if (g.momentum > 0) {
        const buf = (s.momentumBuffer as k.Tensor).mul_(g.momentum).add_(grad.div(avg));
        p.add_(buf, -g.lr);
      } else p.add_(grad.div(avg), -g.lr);
    }
  }
}

export interface AdagradOptions {
  lr?: number;
  lrDecay?: number;
  weightDecay?: number;
  initialAccumulatorValue?: number;
  eps?: number;
  maximize?: boolean;
}

type AdagradHyper = Required<AdagradOptions>;

export class Adagrad extends Optimizer<AdagradHyper> {
  constructor(params: ParamsInput<AdagradHyper>, options: AdagradOptions = {}) {
    super('Adagrad', params, {
      lr: options.lr ?? 1e-2,
      lrDecay: options.lrDecay ?? 0,
      weightDecay: options.weightDecay ?? 0,
      initialAccumulatorValue: options.initialAccumulatorValue ?? 0,
      eps: options.eps ?? 1e-10,
      maximize: options.maximize ?? false,
    });
    // PyTorch creates Adagrad's state eagerly (the accumulator starts at initialAccumulatorValue).
    for (const g of this.paramGroups)
      for (const p of g.params)
        this.stateOf(p, () => ({ step: 0, sum: k.fullLike(p, g.initialAccumulatorValue) }));
  }

  protected override validate(g: ParamGroup<AdagradHyper>): void {
    super.validate(g);
    if (!(g.lrDecay >= 0)) throw new RangeError(`Adagrad: Invalid lr_decay value: ${g.lrDecay}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`Adagrad: Invalid weight_decay value: ${g.weightDecay}`);
    if (!(g.initialAccumulatorValue >= 0))
      throw new RangeError(`Adagrad: Invalid initial_accumulator_value value: ${g.initialAccumulatorValue}`);
    if (!(g.eps >= 0)) throw new RangeError(`Adagrad: Invalid epsilon value: ${g.eps}`);
  }

  protected updateGroup(g: ParamGroup<AdagradHyper>): void {
    for (const p of g.params) {
      let grad = this.gradOf(p, g.maximize);
      if (grad === null) continue;
      const s = this.stateOf(p, () => ({ step: 0, sum: k.fullLike(p, g.initialAccumulatorValue) }));
      const step = (s.step as number) + 1;
      s.step = step;
      if (g.weightDecay !== 0) grad = grad.add(p, g.weightDecay);
      const clr = g.lr / (1 + (step - 1) * g.lrDecay);
      const sum = (s.sum as k.Tensor).add_(grad.square());
      p.add_(grad.div(sum.sqrt().add(g.eps)), -clr);
    }
  }
}
