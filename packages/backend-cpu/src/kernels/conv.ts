// conv2d and pooling kernels: being written (see the conv issue work); until then they raise.
import type { Conv2dParams, KernelTensor, Pool2dParams } from '@kiln/core';

function pending(op: string): never {
  throw new Error(`${op}: not implemented on 'cpu' yet`);
}

export function conv2d(_x: KernelTensor, _w: KernelTensor, _out: KernelTensor, _p: Conv2dParams): void {
  pending('conv2d');
}
export function conv2dBackwardInput(_g: KernelTensor, _w: KernelTensor, _gi: KernelTensor, _p: Conv2dParams): void {
  pending('conv2dBackwardInput');
}
export function conv2dBackwardWeight(_x: KernelTensor, _g: KernelTensor, _gw: KernelTensor, _p: Conv2dParams): void {
  pending('conv2dBackwardWeight');
}
export function maxPool2d(_x: KernelTensor, _o: KernelTensor, _i: KernelTensor, _p: Pool2dParams): void {
  pending('maxPool2d');
}
export function maxPool2dBackward(_g: KernelTensor, _i: KernelTensor, _gi: KernelTensor, _p: Pool2dParams): void {
  pending('maxPool2dBackward');
}
export function avgPool2d(_x: KernelTensor, _o: KernelTensor, _p: Pool2dParams): void {
  pending('avgPool2d');
}
export function avgPool2dBackward(_g: KernelTensor, _gi: KernelTensor, _p: Pool2dParams): void {
  pending('avgPool2dBackward');
}
