// Activation modules: stateless wrappers over the functional forms.
import type * as k from '@kiln/core';
import * as F from '../functional/activation.js';
import { Module } from '../module/module.js';
import { pyFloat, pyString } from '../module/repr.js';

export class ReLU extends Module {
  override forward(x: k.Tensor): k.Tensor {
    return F.relu(x);
  }
}

export class ReLU6 extends Module {
  override forward(x: k.Tensor): k.Tensor {
    return F.relu6(x);
  }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  override forward(x: k.Tensor): k.Tensor {
    return F.leakyRelu(x, this.negativeSlope);
  }

  override extraRepr(): string {
    return `negative_slope=${pyFloat(this.negativeSlope)}`;
  }
}

export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(options: F.GeluOptions = {}) {
    super();
    this.approximate = options.approximate ?? 'none';
  }

  override forward(x: k.Tensor): k.Tensor {
    return F.gelu(x, { approximate: this.approximate });
  }

  override extraRepr(): string {
    return `approximate=${pyString(this.approximate)}`;
  }
}

export class SiLU extends Module {
  override forward(x: k.Tensor): k.Tensor {
    return F.silu(x);
  }
}

export class Tanh extends Module {
  override forward(x: k.Tensor): k.Tensor {
    return F.tanh(x);
  }
}

export class Sigmoid extends Module {
  override forward(x: k.Tensor): k.Tensor {
    return F.sigmoid(x);
  }
}

export class Softplus extends Module {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
  }

  override forward(x: k.Tensor): k.Tensor {
    return F.softplus(x, this.beta, this.threshold);
  }

  override extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

export class Softmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  override forward(x: k.Tensor): k.Tensor {
    return F.softmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super();
  }

  override forward(x: k.Tensor): k.Tensor {
    return F.logSoftmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
