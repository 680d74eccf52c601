// nn.Parameter. A parameter is an ordinary core Tensor that is marked as one, not a subclass:
// every op creates base Tensors, so a subclass would not survive `k.*` ops, in-place updates or
// `.to()`. `new nn.Parameter(t)` (or `nn.Parameter(t)`) returns a leaf tensor that requires grad, is
// exempt from `tidy` (`keep`), and is recognised by `isParameter` / `instanceof nn.Parameter`.
import * as k from '@kiln/core';

const parameters = new WeakSet<k.Tensor>();

export interface ParameterConstructor {
  new (data: k.Tensor, requiresGrad?: boolean): k.Tensor;
  (data: k.Tensor, requiresGrad?: boolean): k.Tensor;
}

/** A parameter is a Tensor; the type alias lets signatures say which tensors are parameters. */
export type Parameter = k.Tensor;

function makeParameter(data: k.Tensor, requiresGrad = true): k.Tensor {
  if (!k.isTensor(data)) throw new TypeError(`Parameter: expected a Tensor, got ${typeof data}`);
  // A parameter is a leaf: a tensor that carries history is detached (as torch.nn.Parameter does).
  const t = data.isLeaf ? data : data.detach();
  if (requiresGrad) t.requiresGrad_(true);
  parameters.add(k.keep(t));
  return t;
}

// A function usable with or without `new`: a constructor returning an object yields that object.
export const Parameter = function Parameter(data: k.Tensor, requiresGrad?: boolean): k.Tensor {
  return makeParameter(data, requiresGrad);
} as unknown as ParameterConstructor;

Object.defineProperty(Parameter, Symbol.hasInstance, {
  value: (v: unknown) => k.isTensor(v) && parameters.has(v),
});

export function isParameter(v: unknown): v is k.Tensor {
  return k.isTensor(v) && parameters.has(v);
}

/** Marks `t` as a parameter without changing its requiresGrad flag (used when moving modules). */
export function markParameter(t: k.Tensor): k.Tensor {
  parameters.add(k.keep(t));
  return t;
}
