// Stochastic gradient descent with momentum, dampening, Nesterov momentum, L2 weight decay and
// maximisation, as torch.optim.SGD (1.13) computes it.
import type * as k from '@kiln/core';
import { Optimizer, type ParamGroup, type ParamsInput } from './optimizer.js';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
  maximize?: boolean;
}

type SGDHyper = Required<SGDOptions>;

export class SGD extends Optimizer<SGDHyper> {
  constructor(params: ParamsInput<SGDHyper>, options: SGDOptions) {
    super('SGD', params, {
      lr: options.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
      maximize: options.maximize ?? false,
    });
  }

  protected override validate(g: ParamGroup<SGDHyper>): void {
    super.validate(g);
    if (!(g.momentum >= 0)) throw new RangeError(`SGD: Invalid momentum value: ${g.momentum}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`SGD: Invalid weight_decay value: ${g.weightDecay}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0))
      throw new Error('SGD: Nesterov momentum requires a momentum and zero dampening');
  }

  protected updateGroup(g: ParamGroup<SGDHyper>): void {
    for (const p of g.params) {
      let d = this.gradOf(p, g.maximize);
      if (d === null) continue;
      if (g.weightDecay !== 0) d = d.add(p, g.weightDecay);
      if (g.momentum !== 0) {
        const state = this.state.get(p);
        let buf: k.Tensor;
        if (state === undefined) {
          const grad = d;
          buf = this.stateOf(p, () => ({ momentumBuffer: grad.clone() })).momentumBuffer as k.Tensor;
        } else {
          buf = (state.momentumBuffer as k.Tensor).mul_(g.momentum).add_(d, 1 - g.dampening);
        }
        d = g.nesterov ? d.add(buf, g.momentum) : buf;
      }
      p.add_(d, -g.lr);
    }
  }
}
