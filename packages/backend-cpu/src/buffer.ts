// CPU memory: one typed array per buffer, in the element type kernels compute with.
//   float32 -> Float32Array; float64 and int64 -> Float64Array (int64 exact within +-2^53);
//   int32 -> Int32Array; int8 -> Int8Array; uint8 and bool -> Uint8Array;
//   float16 and bfloat16 -> Uint16Array of bit patterns (storage only: converted by copy/cast).
import type { DeviceBuffer, DType, TypedArray } from '@kiln/core';

export type CpuArray = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

/**
 * Work recorded for a buffer but not run yet (the native path's elementwise fusion,
 * native/fusion.ts). `run` fills the buffer it was recorded for; `drop` forgets it unrun.
 */
export interface Deferred {
  run(): void;
  drop(): void;
}

export class CpuBuffer implements DeviceBuffer {
  readonly data: CpuArray;
  /** The deferred work that will fill this buffer, run on first access. */
  pending: Deferred | null = null;
  /** Deferred work that reads this buffer: run before anything else touches it. */
  readers: Set<Deferred> | null = null;
  /** Set when the buffer is freed while deferred work still reads it: called once none does. */
  onUnread: (() => void) | null = null;
  constructor(data: CpuArray) {
    this.data = data;
  }
  get byteLength(): number {
    return this.data.byteLength;
  }
}

/** Runs the deferred work that reads `buffer`, then the work that fills it. */
export function settle(buffer: CpuBuffer): void {
  if (buffer.readers) for (const reader of [...buffer.readers]) reader.run();
  buffer.pending?.run();
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

/**
 * The typed array behind a kernel operand, ready to read or write: deferred work that fills it, or
 * that still has to read its current contents, runs first.
 */
export function arrayOf(buffer: DeviceBuffer): CpuArray {
  const b = buffer as CpuBuffer;
  if (b.pending !== null || b.readers !== null) settle(b);
  return b.data;
}

export type { TypedArray };
