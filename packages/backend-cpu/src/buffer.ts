// CPU memory: one typed array per buffer, in the element type kernels compute with.
//   float32 -> Float32Array; float64 and int64 -> Float64Array (int64 exact within +-2^53);
//   int32 -> Int32Array; int8 -> Int8Array; uint8 and bool -> Uint8Array;
//   float16 and bfloat16 -> Uint16Array of bit patterns (storage only: converted by copy/cast).
import type { DeviceBuffer, DType, TypedArray } from '@kiln/core';

export type CpuArray = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

export class CpuBuffer implements DeviceBuffer {
  readonly data: CpuArray;
  constructor(data: CpuArray) {
    this.data = data;
  }
  get byteLength(): number {
    return this.data.byteLength;
  }
}

export function allocArray(dtype: DType, numel: number): CpuArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(numel);
    case 'float64':
    case 'int64':
      return new Float64Array(numel);
    case 'int32':
      return new Int32Array(numel);
    case 'int8':
      return new Int8Array(numel);
    case 'uint8':
    case 'bool':
      return new Uint8Array(numel);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(numel);
  }
}

/** The typed array behind a kernel operand. */
export function arrayOf(buffer: DeviceBuffer): CpuArray {
  return (buffer as CpuBuffer).data;
}

export type { TypedArray };
