// In-place ops. Every one follows one protocol: compute the new value out of place from the old
// one, write it into the tensor's memory, and bump the storage's version counter (so autograd
// refuses gradients computed from overwritten values). When autograd is involved the old value is
// snapshotted first (so the op's backward never reads overwritten memory) and the tensor takes the
// new value's history; an in-place write through a view also gives the view's base a new history
// that routes the view region's gradient through the write (PyTorch's CopySlices).
import { isGradEnabled, noGrad } from '../autograd/grad-mode.js';
import { record } from '../autograd/record.js';
import { backendOf, broadcastKernel, castTo } from '../dispatch/dispatch.js';
import { isFloating } from '../dtype/dtype.js';
import { broadcastShapes, formatShape, shapesEqual } from '../shape/shape.js';
import { composite } from '../tensor/memory.js';
import type { Tensor, TensorOrScalar } from '../tensor/tensor.js';
import { full } from './creation.js';
import { add, clamp, div, mul, sub, where } from './elementwise.js';
import { clone, expand, viewScatter } from './shape.js';

/** PyTorch refuses in-place results that need a lossy cast (float into int, anything into bool). */
function checkCast(op: string, self: Tensor, value: Tensor): void {
  const lossy =
    (isFloating(value.dtype) && !isFloating(self.dtype)) || (self.dtype === 'bool' && value.dtype !== 'bool');
  if (lossy)
    throw new TypeError(
      `${op}: result type ${value.dtype} can't be cast to the desired output type ${self.dtype}`,
    );
}

/** Writes `value` into `self`'s memory (same shape, cast to self's dtype) and bumps the version. */
function writeInto(op: string, self: Tensor, value: Tensor): void {
  if (!shapesEqual(value.shape, self.shape)) {
    throw new Error(
      `${op}: output with shape ${formatShape(self.shape)} doesn't match the broadcast shape ${formatShape(value.shape)}`,
    );
  }
  const v = castTo(value, self.dtype);
  backendOf(self).copy(v.kernel, self.kernel);
  if (v !== value) v.dispose();
  self.storage.version++;
}

/** The live base of a view, if any (a disposed base can no longer be observed, so it needs no history). */
function liveBase(t: Tensor): Tensor | null {
  return t.viewBase && !t.viewBase.isDisposed ? t.viewBase : null;
}

/**
 * Runs an in-place op: `compute(old)` returns the new value (differentiable w.r.t. `old` and any
 * tensor in `others`); `fast` writes it directly when autograd is not involved.
 */
function inplace<T extends Tensor>(
  op: string,
  self: T,
  others: readonly (Tensor | null | undefined)[],
  compute: (old: Tensor) => Tensor,
  fast?: () => void,
): T {
  const base = liveBase(self);
  if (isGradEnabled() && self.isLeaf && self.requiresGrad) {
    throw new Error(`${op}: a leaf Variable that requires grad is being used in an in-place operation.`);
  }
  const tracking =
    isGradEnabled() &&
    (self.requiresGrad || (base?.requiresGrad ?? false) || others.some((o) => o?.requiresGrad));
  if (tracking && base?.isLeaf && base.requiresGrad) {
    throw new Error(
      `${op}: a view of a leaf Variable that requires grad is being used in an in-place operation.`,
    );
  }
  if (!tracking) {
    if (fast) {
      fast();
      self.storage.version++;
    } else {
      const value = noGrad(() => composite(() => compute(self)));
      checkCast(op, self, value);
      writeInto(op, self, value);
      value.dispose();
    }
    return self;
  }
  const old = clone(self);
  const value = composite(() => compute(old));
  checkCast(op, self, value);
  writeInto(op, self, value);
  if (base) rebaseOnWrite(base, self, value);
  else self.setGradFn(value.gradFn);
  old.dispose();
  value.dispose();
  return self;
}

/**
 * After `view` was overwritten with `value`: the base's new value is its old value with the view's
 * region replaced, so the region's gradient flows into `value` and the rest into the old base; the
 * view's new history is the same view of the base's new history.
 */
function rebaseOnWrite(base: Tensor, view: Tensor, value: Tensor): void {
  const take = view.viewFn!;
  const baseShape = base.shape;
  record('CopySlices', base, [base, value], (g) => [sub(g, viewScatter(take(g), baseShape, take)), take(g)]);
  record('ViewOfRebasedBackward', view, [base], (g) => [viewScatter(g, baseShape, take)]);
}

export function add_<T extends Tensor>(self: T, other: TensorOrScalar, alpha?: number): T {
  return inplace('add_', self, [typeof other === 'object' ? other : null], (old) => add(old, other, alpha));
}

export function sub_<T extends Tensor>(self: T, other: TensorOrScalar, alpha?: number): T {
  return inplace('sub_', self, [typeof other === 'object' ? other : null], (old) => sub(old, other, alpha));
}

export function mul_<T extends Tensor>(self: T, other: TensorOrScalar): T {
  return inplace('mul_', self, [typeof other === 'object' ? other : null], (old) => mul(old, other));
}

export function div_<T extends Tensor>(self: T, other: TensorOrScalar): T {
  return inplace('div_', self, [typeof other === 'object' ? other : null], (old) => div(old, other));
}

export function clamp_<T extends Tensor>(self: T, min?: number | null, max?: number | null): T {
  return inplace('clamp_', self, [], (old) => clamp(old, min, max));
}

/** The overwritten values get a zero gradient (PyTorch's FillBackward); NaN in the old values stays out. */
function overwrite(old: Tensor, value: TensorOrScalar): Tensor {
  const everywhere = full(old.shape, true, { device: old.device });
  const out = where(everywhere, value, old);
  everywhere.dispose();
  return out;
}

export function fill_<T extends Tensor>(self: T, value: number | Tensor): T {
  if (typeof value === 'object' && value.ndim !== 0) {
    throw new Error(
      `fill_: only supports 0-dimension value tensor but got tensor with ${value.ndim} dimensions`,
    );
  }
  if (typeof value === 'object') return copy_(self, value);
  return inplace(
    'fill_',
    self,
    [],
    (old) => overwrite(old, value),
    () => backendOf(self).fill(self.kernel, value),
  );
}

/** copy_(src): broadcasts src into self, converting dtype and device; differentiable w.r.t. src. */
export function copy_<T extends Tensor>(self: T, src: Tensor): T {
  broadcastShapes('copy_', self.shape, src.shape);
  const onDevice = () => (src.device === self.device ? src : src.to(self.device));
  return inplace(
    'copy_',
    self,
    [src],
    (old) => {
      const s = onDevice();
      const v = overwrite(old, expand(s.dtype === old.dtype ? s : s.to(old.dtype), old.shape));
      return v;
    },
    () => {
      const s = onDevice();
      const v = castTo(s, self.dtype);
      backendOf(self).copy(broadcastKernel(v, self.shape), self.kernel);
      if (v !== s) v.dispose();
      if (s !== src) s.dispose();
    },
  );
}
