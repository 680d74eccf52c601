// k.max / k.min in both PyTorch spellings: over everything (a 0-d tensor) or along a dim
// ({ values, indices }).
import type { Tensor } from '../tensor/tensor.js';
import { maxAll, maxDim, minAll, minDim, type ValuesIndices } from './reduction.js';

export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function max(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return dim === undefined ? maxAll(x) : maxDim(x, dim, keepdim);
}

export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): ValuesIndices;
export function min(x: Tensor, dim?: number, keepdim = false): Tensor | ValuesIndices {
  return dim === undefined ? minAll(x) : minDim(x, dim, keepdim);
}
