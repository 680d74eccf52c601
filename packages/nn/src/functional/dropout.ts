// Dropout: zeroes elements with probability p and scales the rest by 1 / (1 - p), drawing the
// mask from core's seeded generator (so `k.manualSeed` makes it reproducible on every backend).
import * as k from '@kiln/core';

function checkP(op: string, p: number): void {
  if (!(p >= 0 && p <= 1))
    throw new RangeError(`${op}: dropout probability has to be between 0 and 1, but got ${p}`);
}

export function dropout(x: k.Tensor, p = 0.5, training = true): k.Tensor {
  checkP('dropout', p);
  if (!training || p === 0) return x;
  if (p === 1) return x.mul(0);
  // tidy: only the scaled mask survives (core's bernoulli_ leaves an intermediate behind).
  const scaled = k.tidy(() =>
    k
      .empty(x.shape, { dtype: x.dtype, device: x.device })
      .bernoulli_(1 - p)
      .mul_(1 / (1 - p)),
  );
  return x.mul(scaled);
}
