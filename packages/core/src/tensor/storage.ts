// A backend buffer shared by every view of it. Reference counted: views, saved-for-backward
// entries and the tensor that made it each hold one reference, and the buffer goes back to the
// backend when the last one is released. The version counter is shared by all views, as in
// PyTorch, so an in-place write through any view invalidates what autograd saved.
import type { Backend, DeviceBuffer } from '../backend/kernels.js';
import type { Device } from '../backend/registry.js';
import { type DType, ITEMSIZE } from '../dtype/dtype.js';
import { memoryCounters } from './counters.js';

export class Storage {
  readonly backend: Backend;
  readonly device: Device;
  readonly dtype: DType;
  readonly numel: number;
  readonly buffer: DeviceBuffer;
  readonly byteLength: number;
  version = 0;
  private refs = 0;

  constructor(backend: Backend, device: Device, dtype: DType, numel: number, buffer?: DeviceBuffer) {
    this.backend = backend;
    this.device = device;
    this.dtype = dtype;
    this.numel = numel;
    this.buffer = buffer ?? backend.alloc(numel, dtype);
    this.byteLength = numel * ITEMSIZE[dtype];
    memoryCounters.storageCreated(device, this.byteLength);
  }

  retain(): void {
    this.refs++;
  }

  /** Whether more than one tensor (a view, an alias) holds this memory. */
  get shared(): boolean {
    return this.refs > 1;
  }

  release(): void {
    if (--this.refs === 0) {
      this.backend.free(this.buffer);
      memoryCounters.storageFreed(this.device, this.byteLength);
    }
  }
}
