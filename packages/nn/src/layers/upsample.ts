// Upsample: F.interpolate as a module.
import type * as k from '@kiln/core';
import { type InterpolateMode, interpolate } from '../functional/interpolate.js';
import { Module } from '../module/module.js';
import { pyFloat } from '../module/repr.js';

export interface UpsampleOptions {
  size?: number | readonly number[];
  scaleFactor?: number | readonly number[];
  mode?: InterpolateMode;
  alignCorners?: boolean | null;
}

export class Upsample extends Module {
  readonly size: number | readonly number[] | null;
  readonly scaleFactor: number | readonly number[] | null;
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean | null;

  constructor(options: UpsampleOptions) {
    super();
    this.size = options.size ?? null;
    this.scaleFactor = options.scaleFactor ?? null;
    this.mode = options.mode ?? 'nearest';
    this.alignCorners = options.alignCorners ?? null;
    if ((this.size === null) === (this.scaleFactor === null))
      throw new Error('Upsample: exactly one of size or scaleFactor must be given');
  }

  override forward(x: k.Tensor): k.Tensor {
    return interpolate(x, {
      ...(this.size !== null ? { size: this.size } : {}),
      ...(this.scaleFactor !== null ? { scaleFactor: this.scaleFactor } : {}),
      mode: this.mode,
      alignCorners: this.alignCorners,
    });
  }

  override extraRepr(): string {
    const fmt = (v: number | readonly number[], f: (n: number) => string) =>
      typeof v === 'number' ? f(v) : `(${v.map(f).join(', ')})`;
    const info =
      this.scaleFactor !== null
        ? `scale_factor=${fmt(this.scaleFactor, pyFloat)}`
        : `size=${fmt(this.size!, String)}`;
    return `${info}, mode=${this.mode}`;
  }
}
