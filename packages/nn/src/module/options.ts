// Options shared by layer constructors.
import type * as k from '@kiln/core';

/** Where and in which dtype a layer creates its parameters (PyTorch's factory kwargs). */
export interface FactoryOptions {
  dtype?: k.DType;
  device?: k.Device;
}

export function factory(options: FactoryOptions): { dtype?: k.DType; device?: k.Device } {
  const out: { dtype?: k.DType; device?: k.Device } = {};
  if (options.dtype !== undefined) out.dtype = options.dtype;
  if (options.device !== undefined) out.device = options.device;
  return out;
}
