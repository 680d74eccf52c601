// In-place ops. They write into the tensor's storage and bump its version counter, which is what
// lets autograd refuse a gradient computed from a value that was overwritten. On a tensor that is
// part of a graph, the op is recorded like its out-of-place twin and the tensor takes the new node.
import { isGradEnabled } from '../autograd/grad-mode.js';
import { backendOf, broadcastKernel, castTo } from '../dispatch/dispatch.js';
import { broadcastShapes, formatShape, shapesEqual } from '../shape/shape.js';
import type { Tensor, TensorOrScalar } from '../tensor/tensor.js';
import { add, clamp, div, mul, sub } from './elementwise.js';

function checkInplace(op: string, self: Tensor): void {
  if (isGradEnabled() && self.isLeaf && self.requiresGrad) {
    throw new Error(`${op}: a leaf Variable that requires grad is being used in an in-place operation.`);
  }
}

/** Writes `value` (already computed, same shape) into `self` and, under autograd, takes its history. */
function commit<T extends Tensor>(op: string, self: T, value: Tensor): T {
  if (!shapesEqual(value.shape, self.shape)) {
    throw new Error(
      `${op}: output with shape ${formatShape(self.shape)} doesn't match the broadcast shape ${formatShape(value.shape)}`,
    );
  }
  const v = castTo(value, self.dtype);
  backendOf(self).copy(v.kernel, self.kernel);
  self.storage.version++;
  if (value.gradFn && isGradEnabled()) self.setGradFn(value.gradFn);
  if (v !== value) v.dispose();
  value.dispose();
  return self;
}

function binaryInplace<T extends Tensor>(op: string, self: T, compute: () => Tensor): T {
  checkInplace(op, self);
  return commit(op, self, compute());
}

export function add_<T extends Tensor>(self: T, other: TensorOrScalar, alpha?: number): T {
  return binaryInplace('add_', self, () => add(self, other, alpha));
}

export function sub_<T extends Tensor>(self: T, other: TensorOrScalar, alpha?: number): T {
  return binaryInplace('sub_', self, () => sub(self, other, alpha));
}

export function mul_<T extends Tensor>(self: T, other: TensorOrScalar): T {
  return binaryInplace('mul_', self, () => mul(self, other));
}

export function div_<T extends Tensor>(self: T, other: TensorOrScalar): T {
  return binaryInplace('div_', self, () => div(self, other));
}

export function clamp_<T extends Tensor>(self: T, min?: number | null, max?: number | null): T {
  return binaryInplace('clamp_', self, () => clamp(self, min, max));
}

export function fill_<T extends Tensor>(self: T, value: number | Tensor): T {
  checkInplace('fill_', self);
  if (typeof value === 'number') {
    backendOf(self).fill(self.kernel, value);
    self.storage.version++;
    if (self.gradFn && isGradEnabled()) self.setGradFn(null);
    return self;
  }
  if (value.ndim !== 0)
    throw new Error(
      `fill_: only supports 0-dimension value tensor but got tensor with ${value.ndim} dimensions`,
    );
  return copy_(self, value);
}

/** copy_(src): broadcasts src into self, converting dtype; differentiable w.r.t. src. */
export function copy_<T extends Tensor>(self: T, src: Tensor): T {
  checkInplace('copy_', self);
  broadcastShapes('copy_', self.shape, src.shape);
  const srcOnDevice = src.device === self.device ? src : src.to(self.device);
  const v = castTo(srcOnDevice, self.dtype);
  backendOf(self).copy(broadcastKernel(v, self.shape), self.kernel);
  self.storage.version++;
  if (v !== srcOnDevice) v.dispose();
  if (srcOnDevice !== src) srcOnDevice.dispose();
  if (isGradEnabled() && (src.requiresGrad || self.gradFn)) {
    // The new value depends on src only: self's history is replaced by an expand of src.
    const history = src.expand(self.shape);
    self.setGradFn(history.gradFn);
    history.dispose();
  }
  return self;
}
