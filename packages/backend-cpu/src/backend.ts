// The 'cpu' backend: portable TypeScript kernels over typed arrays. Every kernel is a plain
// function in kernels/, so a native implementation can replace any one of them behind the same
// signature: in Node, when the addon is built, native/kernels.ts does so for float32 work.
import type { Backend, DeviceBuffer, DType, KernelTensor, TypedArray } from '@kiln/core';
import { contiguousStrides } from '@kiln/core';
import { allocArray, arrayOf, type CpuArray, CpuBuffer } from './buffer.js';
import * as attn from './kernels/attention.js';
import * as conv from './kernels/conv.js';
import * as ew from './kernels/elementwise.js';
import * as fused from './kernels/fused.js';
import * as idx from './kernels/indexing.js';
import * as loss from './kernels/loss.js';
import { matmul } from './kernels/matmul.js';
import * as norm from './kernels/normalization.js';
import { adamStep } from './kernels/optim.js';
import * as pool from './kernels/pool.js';
import { random } from './kernels/random.js';
import * as red from './kernels/reduce.js';
import { Float32Pool } from './native/buffer-pool.js';
import { nativeKernels } from './native/kernels.js';
import { loadNative, type NativeMode, nativeModeFromEnv } from './native/load.js';

const COMPUTE: DType[] = ['float32', 'float64', 'int32', 'int64', 'int8', 'uint8', 'bool'];
const STORAGE: DType[] = [...COMPUTE, 'float16', 'bfloat16'];

/** Host array (as core hands it over) -> this backend's storage array. */
function toStorage(dtype: DType, data: TypedArray, target: CpuArray): void {
  if (data instanceof BigInt64Array) {
    for (let i = 0; i < data.length; i++) target[i] = Number(data[i]);
  } else if (dtype === 'float16' || dtype === 'bfloat16') {
    // Core passes decoded values; store their bit patterns.
    const tmp = new CpuBuffer(target);
    const src = new CpuBuffer(Float32Array.from(data as ArrayLike<number>));
    ew.copy(
      { buffer: src, dtype: 'float32', shape: [data.length], strides: [1], offset: 0 },
      { buffer: tmp, dtype, shape: [data.length], strides: [1], offset: 0 },
    );
  } else {
    target.set(data as ArrayLike<number>);
  }
}

function readView(x: KernelTensor): TypedArray {
  let total = 1;
  for (const s of x.shape) total *= s;
  const hostDtype = x.dtype === 'float16' || x.dtype === 'bfloat16' ? 'float32' : x.dtype;
  const out = new CpuBuffer(allocArray(hostDtype, total));
  ew.copy(x, {
    buffer: out,
    dtype: hostDtype,
    shape: x.shape,
    strides: contiguousStrides(x.shape),
    offset: 0,
  });
  if (x.dtype === 'int64') return BigInt64Array.from(out.data as Float64Array, (v) => BigInt(v));
  return out.data as TypedArray;
}

export interface CpuBackendOptions {
  /**
   * The native fast path (Node, when the addon is built): 'auto' uses it when it loads, true
   * requires it, false uses the TypeScript kernels only. Default: KILN_CPU_NATIVE (0 | 1), else 'auto'.
   */
  native?: NativeMode;
}

/** The portable TypeScript kernels the native ones replace (and fall back to). */
export const TS_KERNELS = {
  copy: ew.copy,
  matmul,
  unary: ew.unary,
  binary: ew.binary,
  where: ew.where,
  reduce: red.reduce,
  conv2d: conv.conv2d,
  conv2dBackwardInput: conv.conv2dBackwardInput,
  conv2dBackwardWeight: conv.conv2dBackwardWeight,
  softmax: fused.softmax,
  logSoftmax: fused.logSoftmax,
  logsumexp: fused.logsumexp,
  layerNorm: norm.layerNorm,
  layerNormBackward: norm.layerNormBackward,
  crossEntropy: loss.crossEntropy,
  crossEntropyBackward: loss.crossEntropyBackward,
  adamStep,
  attention: attn.attention,
  attentionBackward: attn.attentionBackward,
};

export function createCpuBackend(options: CpuBackendOptions = {}): Backend {
  const { addon } = loadNative(options.native ?? nativeModeFromEnv());
  const native = addon ? nativeKernels(addon, TS_KERNELS) : null;
  const k = native ?? TS_KERNELS;
  // With the native kernels, large float32 buffers are recycled (native/buffer-pool.ts).
  const poison = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
    .KILN_CPU_POOL_POISON;
  const recycler = addon ? new Float32Pool(512 * 2 ** 20, { poison: poison === '1' }) : null;
  return {
    name: 'cpu',
    computeDTypes: new Set(COMPUTE),
    storageDTypes: new Set(STORAGE),
    fused: {
      softmax: k.softmax,
      logSoftmax: k.logSoftmax,
      logsumexp: k.logsumexp,
      layerNorm: k.layerNorm,
      layerNormBackward: k.layerNormBackward,
      crossEntropy: k.crossEntropy,
      crossEntropyBackward: k.crossEntropyBackward,
      adamStep: k.adamStep,
      // The native path fuses the bias into the product; the TypeScript path leaves it to core.
      linear: native?.linear,
      // The native path runs attention fused (float32 in the addon, other dtypes in
      // kernels/attention.ts); the TypeScript path leaves it to core's composite of batched matmuls.
      attention: native?.attention,
      attentionBackward: native?.attentionBackward,
    },

    alloc: (numel, dtype) =>
      new CpuBuffer(
        recycler !== null && dtype === 'float32' ? recycler.take(numel) : allocArray(dtype, numel),
      ),
    free: (buffer) => {
      // Work deferred into this buffer is never needed now (nothing else can read it: fused programs
      // only read materialised buffers); work that reads it must be done before its memory is reused.
      const b = buffer as CpuBuffer;
      b.pending?.drop();
      // Typed arrays are garbage collected; the pool keeps large float32 ones for reuse, once no
      // deferred work reads them any more.
      const recycle = () => {
        if (recycler !== null && b.data instanceof Float32Array) recycler.give(b.data);
      };
      if (b.readers) b.onUnread = recycle;
      else recycle();
    },
    write: (buffer, dtype, data) => toStorage(dtype, data, arrayOf(buffer)),
    adopt(dtype: DType, data: TypedArray): DeviceBuffer {
      const matches =
        (dtype === 'float32' && data instanceof Float32Array) ||
        (dtype === 'float64' && data instanceof Float64Array) ||
        (dtype === 'int32' && data instanceof Int32Array) ||
        (dtype === 'int8' && data instanceof Int8Array) ||
        ((dtype === 'uint8' || dtype === 'bool') && data instanceof Uint8Array);
      if (matches) return new CpuBuffer(data as CpuArray);
      const buf = new CpuBuffer(allocArray(dtype, data.length));
      toStorage(dtype, data, buf.data);
      return buf;
    },
    read: async (x) => readView(x),
    readSync: readView,
    copy: k.copy,
    fill: ew.fill,
    sync: async () => {},

    unary: k.unary,
    binary: k.binary,
    where: k.where,
    reduce: k.reduce,
    argReduce: red.argReduce,
    cumsum: red.cumsum,
    matmul: k.matmul,
    gather: idx.gather,
    scatterAdd: idx.scatterAdd,
    indexSelect: idx.indexSelect,
    indexAdd: idx.indexAdd,
    sort: idx.sort,
    conv2d: k.conv2d,
    conv2dBackwardInput: k.conv2dBackwardInput,
    conv2dBackwardWeight: k.conv2dBackwardWeight,
    maxPool2d: pool.maxPool2d,
    maxPool2dBackward: pool.maxPool2dBackward,
    avgPool2d: pool.avgPool2d,
    avgPool2dBackward: pool.avgPool2dBackward,
    random,
  };
}
