// Dropout: active in training mode only.
import type * as k from '@kiln/core';
import { dropout } from '../functional/dropout.js';
import { Module } from '../module/module.js';
import { pyFloat } from '../module/repr.js';

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1))
      throw new RangeError(`Dropout: dropout probability has to be between 0 and 1, but got ${p}`);
  }

  override forward(x: k.Tensor): k.Tensor {
    return dropout(x, this.p, this.training);
  }

  override extraRepr(): string {
    return `p=${pyFloat(this.p)}, inplace=False`;
  }
}
