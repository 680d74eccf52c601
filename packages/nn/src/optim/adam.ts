// Adam (with AMSGrad) and AdamW, as torch.optim (1.13) computes them: bias-corrected moments,
// eps added after dividing sqrt(v) by sqrt(1 - beta2^t); L2 decay for Adam, decoupled for AdamW.
import * as k from '@kiln/core';
import { Optimizer, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  amsgrad?: boolean;
  maximize?: boolean;
}

type AdamHyper = Required<AdamOptions>;

abstract class AdamBase extends Optimizer<AdamHyper> {
  private readonly decoupled: boolean;

  constructor(
    name: string,
    params: ParamsInput<AdamHyper>,
    options: AdamOptions,
    defaultDecay: number,
    decoupled: boolean,
  ) {
    super(name, params, {
      lr: options.lr ?? 1e-3,
      betas: options.betas ?? [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? defaultDecay,
      amsgrad: options.amsgrad ?? false,
      maximize: options.maximize ?? false,
    });
    this.decoupled = decoupled;
  }

  protected override validate(g: ParamGroup<AdamHyper>): void {
    super.validate(g);
    const [b1, b2] = g.betas;
    if (!(g.eps >= 0)) throw new RangeError(`Invalid epsilon value: ${g.eps}`);
    if (!(b1 >= 0 && b1 < 1)) throw new RangeError(`Invalid beta parameter at index 0: ${b1}`);
    if (!(b2 >= 0 && b2 < 1)) throw new RangeError(`Invalid beta parameter at index 1: ${b2}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`Invalid weight_decay value: ${g.weightDecay}`);
  }

  protected updateGroup(g: ParamGroup<AdamHyper>): void {
    const [beta1, beta2] = g.betas;
    for (const p of g.params) {
      let grad = this.gradOf(p, g.maximize);
      if (grad === null) continue;
      const s = this.stateOf(p, () => ({
        step: 0,
        expAvg: k.zerosLike(p),
        expAvgSq: k.zerosLike(p),
        ...(g.amsgrad ? { maxExpAvgSq: k.zerosLike(p) } : {}),
      }));
      const step = (s.step as number) + 1;
      s.step = step;
      if (!g.amsgrad) {
        // The plain update is one core op: one kernel on backends with a fused Adam step.
        k.adamStep_(p, grad, s.expAvg as k.Tensor, s.expAvgSq as k.Tensor, {
          lr: g.lr,
          beta1,
          beta2,
          eps: g.eps,
          weightDecay: g.weightDecay,
          decoupled: this.decoupled,
          step,
        });
        continue;
      }
      if (g.weightDecay !== 0) {
        if (this.decoupled) p.mul_(1 - g.lr * g.weightDecay);
        else grad = grad.add(p, g.weightDecay);
      }
      const expAvg = (s.expAvg as k.Tensor).mul_(beta1).add_(grad, 1 - beta1);
      const expAvgSq = (s.expAvgSq as k.Tensor).mul_(beta2).add_(grad.square(), 1 - beta2);
      const stepSize = g.lr / (1 - beta1 ** step);
      const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
      const maxSq = s.maxExpAvgSq as k.Tensor;
      maxSq.copy_(k.maximum(maxSq, expAvgSq));
      const denom = maxSq.sqrt().div(bc2Sqrt).add(g.eps);
      p.add_(expAvg.div(denom), -stepSize);
    }
  }
}

export class Adam extends AdamBase {
  constructor(params: ParamsInput<AdamHyper>, options: AdamOptions = {}) {
    super('Adam', params, options, 0, false);
  }
}

/** Adam with decoupled weight decay (p <- p (1 - lr wd) before the Adam step); default wd 0.01. */
export class AdamW extends AdamBase {
  constructor(params: ParamsInput<AdamHyper>, options: AdamOptions = {}) {
    super('AdamW', params, options, 1e-2, true);
  }
}
