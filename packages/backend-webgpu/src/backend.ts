// The 'webgpu' backend: memory through the runtime's pool, every primitive kernel, the fused
// softmax family, layer norm (forward and backward), cross entropy (forward and backward),
// attention (forward), linear (matmul with a bias and activation epilogue) and the Adam/AdamW step
// in WGSL. dtypes:
// float32 and int32 natively; bool, uint8 and int8 widened to i32 words; float16 and bfloat16
// stored as f32 words rounded to their precision. No 64-bit types.
import type { Backend, DType, KernelTensor, TypedArray } from '@kiln/core';
import { coalesceDims, contiguousStrides, numel } from '@kiln/core';
import { acquireDevice, type DeviceOptions } from './device.js';
import { attention, attentionBackward } from './kernels/attention.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './kernels/conv.js';
import * as ew from './kernels/elementwise.js';
import * as idx from './kernels/indexing.js';
import * as loss from './kernels/loss.js';
import { linear, type MatmulVariant, matmul } from './kernels/matmul.js';
import * as norm from './kernels/normalization.js';
import { adamStep } from './kernels/optim.js';
import * as pool from './kernels/pool.js';
import { random } from './kernels/random.js';
import * as red from './kernels/reduce.js';
import { type GpuBuffer, Runtime } from './runtime.js';
import { wordOf } from './wgsl.js';

const COMPUTE: DType[] = ['float32', 'int32', 'bool'];
const STORAGE: DType[] = [...COMPUTE, 'float16', 'bfloat16', 'int8', 'uint8'];

export interface WebGPUBackend extends Backend {
  readonly runtime: Runtime;
  readonly device: GPUDevice;
  /**
   * Which matmul kernel matmul and linear run: 'tiled' (workgroup memory) on GPUs, 'direct' (no
   * workgroup memory, no barriers) on a fallback (software) adapter, chosen at creation;
   * `KILN_WEBGPU_MATMUL=tiled|direct` in the environment overrides it. Writable, so tests can run
   * both.
   */
  matmulVariant: MatmulVariant;
  /** Submits queued work, releases pooled buffers and destroys the device. */
  destroy(): void;
}

/** Host values as 32-bit words for the buffer. */
function toWords(dtype: DType, data: TypedArray): Float32Array | Int32Array {
  if (wordOf(dtype) === 'f32') {
    return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
  }
  if (data instanceof Int32Array && dtype === 'int32') return data;
  if (dtype === 'bool') return Int32Array.from(data as ArrayLike<number>, (v) => (v ? 1 : 0));
  return Int32Array.from(data as ArrayLike<number>);
}

/** 32-bit words read back -> the host array core expects for `dtype`. */
function fromWords(dtype: DType, bytes: ArrayBuffer): TypedArray {
  switch (dtype) {
    case 'float32':
    case 'float16':
    case 'bfloat16':
      return new Float32Array(bytes);
    case 'int32':
      return new Int32Array(bytes);
    case 'int8':
      return Int8Array.from(new Int32Array(bytes));
    default:
      return Uint8Array.from(new Int32Array(bytes));
  }
}

function defaultMatmulVariant(device: GPUDevice): MatmulVariant {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.KILN_WEBGPU_MATMUL;
  if (env === 'tiled' || env === 'direct') return env;
  if (env) throw new Error(`webgpu: KILN_WEBGPU_MATMUL must be 'tiled' or 'direct' (got '${env}')`);
  return device.adapterInfo?.isFallbackAdapter ? 'direct' : 'tiled';
}

/** `keepAlive` is held for the backend's lifetime (in Node: the GPU object behind the device). */
export function createWebGPUBackendFromDevice(device: GPUDevice, keepAlive?: unknown): WebGPUBackend {
  const rt = new Runtime(device);
  let owner = keepAlive;
  device.onuncapturederror = (e) => {
    console.error(`webgpu: ${e.error.message}`);
  };

  async function read(x: KernelTensor): Promise<TypedArray> {
    const n = numel(x.shape);
    if (n === 0) return fromWords(x.dtype, new ArrayBuffer(0));
    const c = coalesceDims(x.shape, [x]);
    const dense = c.shape.length === 0 || (c.shape.length === 1 && c.strides[0][0] === 1);
    if (dense) return fromWords(x.dtype, await rt.readBytes(x.buffer as GpuBuffer, x.offset * 4, n * 4));
    const tmp = rt.alloc(n * 4);
    ew.copy(rt, x, {
      buffer: tmp,
      dtype: x.dtype,
      shape: x.shape,
      strides: contiguousStrides(x.shape),
      offset: 0,
    });
    const bytes = rt.readBytes(tmp, 0, n * 4);
    rt.free(tmp);
    return fromWords(x.dtype, await bytes);
  }

  const backend: WebGPUBackend = {
    name: 'webgpu',
    runtime: rt,
    device,
    matmulVariant: defaultMatmulVariant(device),
    computeDTypes: new Set(COMPUTE),
    storageDTypes: new Set(STORAGE),
    fused: {
      softmax: (x, dim, out) => red.rowSoftmax(rt, 'softmax', x, dim, out),
      logSoftmax: (x, dim, out) => red.rowSoftmax(rt, 'logSoftmax', x, dim, out),
      logsumexp: (x, dim, out) => red.rowSoftmax(rt, 'logsumexp', x, dim, out),
      layerNorm: (x, w, b, eps, out, mean, rstd) => norm.layerNorm(rt, x, w, b, eps, out, mean, rstd),
      layerNormBackward: (g, x, w, mean, rstd, gi, gw, gb) =>
        norm.layerNormBackward(rt, g, x, w, mean, rstd, gi, gw, gb),
      crossEntropy: (x, t, ignoreIndex, e, out, lse) => loss.crossEntropy(rt, x, t, ignoreIndex, e, out, lse),
      crossEntropyBackward: (g, x, t, lse, ignoreIndex, e, gx) =>
        loss.crossEntropyBackward(rt, g, x, t, lse, ignoreIndex, e, gx),
      attention: (q, key, v, mask, scale, causal, out, lse) =>
        attention(rt, q, key, v, mask, scale, causal, out, lse),
      attentionBackward: (g, q, key, v, mask, scale, causal, out, lse, gq, gk, gv) =>
        attentionBackward(rt, g, q, key, v, mask, scale, causal, out, lse, gq, gk, gv),
      adamStep: (param, grad, m, v, hyper) => adamStep(rt, param, grad, m, v, hyper),
      linear: (x, w, bias, activation, out, pre) =>
        linear(rt, backend.matmulVariant, x, w, bias, activation, out, pre),
    },

    alloc: (n, dtype) => {
      wordOf(dtype);
      return rt.alloc(n * 4);
    },
    free: (buffer) => rt.free(buffer as GpuBuffer),
    write: (buffer, dtype, data) => rt.write(buffer as GpuBuffer, toWords(dtype, data)),
    read,
    copy: (src, dst) => ew.copy(rt, src, dst),
    fill: (dst, value) => ew.fill(rt, dst, value),
    sync: () => rt.sync(),
    memoryStats: () => ({ allocatedBytes: rt.pool.liveBytes, pooledBytes: rt.pool.pooledBytes }),
    destroy: () => {
      rt.destroy();
      owner = undefined;
      void owner;
    },

    unary: (op, x, out) => ew.unary(rt, op, x, out),
    binary: (op, a, b, out) => ew.binary(rt, op, a, b, out),
    where: (c, a, b, out) => ew.where(rt, c, a, b, out),
    reduce: (op, x, dims, out) => red.reduce(rt, op, x, dims, out),
    argReduce: (op, x, dim, out) => red.argReduce(rt, op, x, dim, out),
    cumsum: (x, dim, out) => red.cumsum(rt, x, dim, out),
    matmul: (a, b, out) => matmul(rt, backend.matmulVariant, a, b, out),
    gather: (x, dim, index, out) => idx.gather(rt, x, dim, index, out),
    scatterAdd: (dst, dim, index, src) => idx.scatterAdd(rt, dst, dim, index, src),
    indexSelect: (x, dim, index, out) => idx.indexSelect(rt, x, dim, index, out),
    indexAdd: (dst, dim, index, src) => idx.indexAdd(rt, dst, dim, index, src),
    sort: (x, dim, descending, values, indices) => idx.sort(rt, x, dim, descending, values, indices),
    conv2d: (x, w, out, p) => conv2d(rt, x, w, out, p),
    conv2dBackwardInput: (g, w, gi, p) => conv2dBackwardInput(rt, g, w, gi, p),
    conv2dBackwardWeight: (x, g, gw, p) => conv2dBackwardWeight(rt, x, g, gw, p),
    maxPool2d: (x, out, indices, p) => pool.maxPool2d(rt, x, out, indices, p),
    maxPool2dBackward: (g, indices, gi, p) => pool.maxPool2dBackward(rt, g, indices, gi, p),
    avgPool2d: (x, out, p) => pool.avgPool2d(rt, x, out, p),
    avgPool2dBackward: (g, gi, p) => pool.avgPool2dBackward(rt, g, gi, p),
    random: (dist, key, offset, out) => random(rt, dist, key, offset, out),
  };
  return backend;
}

export async function createWebGPUBackend(options: DeviceOptions = {}): Promise<WebGPUBackend> {
  const { device, gpu } = await acquireDevice(options);
  return createWebGPUBackendFromDevice(device, gpu);
}
