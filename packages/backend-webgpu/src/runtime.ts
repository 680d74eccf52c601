// The WebGPU runtime under the kernels: buffers from a pool, one open command encoder that collects
// dispatches until it is submitted (every BATCH dispatches, before a read, or on sync), kernel
// parameters packed into one uniform arena per submission, and a pipeline cache keyed by the
// generated WGSL's structure (op, dtypes, rank), never by sizes.
//
// Memory safety without waiting: a buffer freed while recorded-but-unsubmitted work may still use
// it goes on a deferred list and returns to the pool only after that work is submitted; queue
// ordering then guarantees later writes land after the earlier reads.
import type { DeviceBuffer, KernelTensor } from '@kiln/core';
import { BufferPool } from './pool.js';
import type { Params } from './wgsl.js';

export class GpuBuffer implements DeviceBuffer {
  constructor(
    readonly gpu: GPUBuffer,
    /** Bytes the caller asked for (the GPU buffer may be larger: its size class). */
    readonly byteLength: number,
  ) {}
  /** The submission batch that last recorded a use of this buffer. */
  batch = -1;
  freed = false;
}

export interface Dispatch {
  /** Identifies the pipeline: the same key must always mean the same WGSL. */
  key: string;
  code: () => string;
  /** Storage bindings 1..n, in the order the WGSL declares them. */
  buffers: readonly GpuBuffer[];
  /** Uniform words (binding 0), as i32 (floats passed as their bit patterns). */
  params: ArrayLike<number>;
  workgroups: readonly [number, number, number];
}

const ARENA_BYTES = 64 * 1024;
const SLOT = 256;
const BATCH = 128;
const MAX_WORKGROUPS = 65535;

/**
 * Dispatches `code` with one invocation per element: `invocations` threads in workgroups of `wg`
 * (the size the code's entry point declares), bound to `buffers` after the uniform block.
 */
export function runPerElement(
  rt: Runtime,
  code: string,
  buffers: readonly (KernelTensor | GpuBuffer)[],
  p: Params,
  invocations: number,
  wg = 64,
): void {
  rt.dispatch({
    key: code,
    code: () => code,
    buffers: buffers.map((b) => ('buffer' in b ? (b.buffer as GpuBuffer) : b)) as GpuBuffer[],
    params: p.values,
    workgroups: grid(Math.ceil(invocations / wg)),
  });
}

/** A 1-D count of workgroups as a 2-D grid within the per-dimension limit. */
export function grid(n: number): [number, number, number] {
  if (n <= MAX_WORKGROUPS) return [Math.max(n, 1), 1, 1];
  return [MAX_WORKGROUPS, Math.ceil(n / MAX_WORKGROUPS), 1];
}

interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

export class Runtime {
  readonly pool: BufferPool;
  private readonly pipelines = new Map<string, CachedPipeline>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batchId = 0;
  private dispatches = 0;
  private readonly arena = new Int32Array(ARENA_BYTES / 4);
  private arenaUsed = 0;
  private arenaBuffer: GPUBuffer | null = null;
  private readonly spareArenas: GPUBuffer[] = [];
  /** Buffers freed while the open batch may use them. */
  private deferred: GPUBuffer[] = [];
  private readonly storageUsage: number;
  private readonly readUsage: number;
  private readonly uniformUsage: number;

  // Usage flags are read in the constructor: GPUBufferUsage is a global only once a WebGPU
  // implementation is loaded.
  constructor(
    readonly device: GPUDevice,
    maxPooledBytes = 512 * 1024 * 1024,
  ) {
    this.pool = new BufferPool(device, maxPooledBytes);
    this.storageUsage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.readUsage = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    this.uniformUsage = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
  }

  alloc(bytes: number): GpuBuffer {
    return new GpuBuffer(this.pool.acquire(Math.max(bytes, 4), this.storageUsage), bytes);
  }

  free(buffer: GpuBuffer): void {
    if (buffer.freed) return;
    buffer.freed = true;
    if (buffer.batch === this.batchId) this.deferred.push(buffer.gpu);
    else this.pool.release(buffer.gpu);
  }

  /** Host -> device. Submits first if the open batch already recorded work on `buffer`. */
  write(buffer: GpuBuffer, words: Int32Array | Float32Array | Uint32Array): void {
    if (buffer.batch === this.batchId) this.flush();
    if (words.byteLength)
      this.device.queue.writeBuffer(buffer.gpu, 0, words.buffer, words.byteOffset, words.byteLength);
  }

  pipeline(key: string, code: () => string): CachedPipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: code(), label: key });
      const pipeline = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint: 'main' },
        label: key,
      });
      p = { pipeline, layout: pipeline.getBindGroupLayout(0) };
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Records one compute dispatch. */
  dispatch(d: Dispatch): void {
    const { pipeline, layout } = this.pipeline(d.key, d.code);
    const words = Math.max(d.params.length, 1);
    const bytes = Math.ceil((words * 4) / SLOT) * SLOT;
    if (this.arenaUsed + bytes > ARENA_BYTES || this.dispatches >= BATCH) this.flush();
    const offset = this.arenaUsed;
    const base = offset / 4;
    for (let i = 0; i < d.params.length; i++) this.arena[base + i] = d.params[i];
    this.arenaUsed += bytes;
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.currentArena(), offset, size: bytes } },
    ];
    d.buffers.forEach((b, i) => {
      if (b.freed) throw new Error(`webgpu: kernel '${d.key}' was given a freed buffer`);
      b.batch = this.batchId;
      entries.push({ binding: i + 1, resource: { buffer: b.gpu } });
    });
    const bindGroup = this.device.createBindGroup({ layout, entries });
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    this.dispatches++;
  }

  /** Records a buffer-to-buffer copy (byte offsets and sizes multiples of 4). */
  copyBuffer(src: GpuBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    src.batch = this.batchId;
    this.commandEncoder().copyBufferToBuffer(src.gpu, srcOffset, dst, dstOffset, bytes);
  }

  private currentArena(): GPUBuffer {
    if (!this.arenaBuffer) {
      this.arenaBuffer =
        this.spareArenas.pop() ?? this.device.createBuffer({ size: ARENA_BYTES, usage: this.uniformUsage });
    }
    return this.arenaBuffer;
  }

  private commandEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.commandEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Submits the open batch and returns its deferred buffers to the pool. */
  flush(): void {
    this.endPass();
    if (this.encoder) {
      if (this.arenaBuffer && this.arenaUsed) {
        this.device.queue.writeBuffer(this.arenaBuffer, 0, this.arena.buffer, 0, this.arenaUsed);
      }
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
    }
    if (this.arenaBuffer) this.spareArenas.push(this.arenaBuffer);
    this.arenaBuffer = null;
    this.arenaUsed = 0;
    this.dispatches = 0;
    this.batchId++;
    for (const b of this.deferred) this.pool.release(b);
    this.deferred = [];
  }

  /** Copies `bytes` from `src` at `byteOffset` to the host, after all queued work. */
  async readBytes(src: GpuBuffer, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
    const staging = this.pool.acquire(bytes, this.readUsage);
    this.copyBuffer(src, byteOffset, staging, 0, bytes);
    this.flush();
    await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    const out = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    this.pool.release(staging);
    return out;
  }

  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  destroy(): void {
    this.flush();
    this.pool.drain();
    for (const b of this.spareArenas) b.destroy();
    this.spareArenas.length = 0;
    this.pipelines.clear();
    this.device.destroy();
  }
}
