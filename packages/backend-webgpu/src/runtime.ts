// The WebGPU runtime under the kernels: buffers from a pool, one open command encoder that collects
// dispatches until it is submitted (every BATCH dispatches, before a read, or on sync), kernel
// parameters packed into one uniform arena per submission, and a pipeline cache keyed by the
// generated WGSL's structure (op, dtypes, rank), never by sizes.
//
// Pipelines compile asynchronously: a dispatch whose pipeline is not ready yet, and everything
// recorded after it, waits in an ordered queue that is encoded as compiles finish; reads wait for
// the queue to reach them. Core's ops stay synchronous and the first step of a model does not block
// the thread (in a browser, its page) on shader compilation.
//
// Memory safety without waiting: a buffer freed while recorded-but-unsubmitted work may still use
// it goes on a deferred list and returns to the pool only after that work is submitted; queue
// ordering then guarantees later writes land after the earlier reads.
import type { DeviceBuffer, KernelTensor } from '@kiln/core';
import { boundsError, ERROR_WORDS } from './bounds.js';
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
  /** Queued (not yet encoded) operations that name this buffer. */
  pendingUses = 0;
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

/** A pipeline in the cache: compiling (both null), ready, or failed. */
interface PipelineEntry {
  ready: CachedPipeline | null;
  error: Error | null;
}

/** Work recorded while an earlier dispatch waits for its pipeline; encoded in order once it compiles. */
type PendingOp =
  | { kind: 'dispatch'; dispatch: Dispatch; entry: PipelineEntry }
  | { kind: 'write'; buffer: GpuBuffer; words: Int32Array | Float32Array | Uint32Array }
  | {
      kind: 'copy';
      src: GpuBuffer;
      srcOffset: number;
      dst: GPUBuffer;
      dstOffset: number;
      bytes: number;
      recorded: () => void;
    }
  | { kind: 'marker'; recorded: () => void };

export class Runtime {
  readonly pool: BufferPool;
  private readonly pipelines = new Map<string, PipelineEntry>();
  /**
   * Pipelines compile asynchronously (createComputePipelineAsync), so a dispatch of a pipeline still
   * compiling cannot be encoded yet, and neither can anything recorded after it: core's eager ops
   * return at once, and the queue keeps their order until the next read waits for it.
   */
  private readonly pending: PendingOp[] = [];
  /** A compile failure, reported by the next read or sync (a kernel cannot throw where it is recorded). */
  private failure: Error | null = null;
  /** Where index-checking kernels report a bad index (src/bounds.ts); zeroed at creation. */
  private errorBuffer: GpuBuffer | null = null;
  /** An index-checking kernel was recorded since the error buffer was last read. */
  private checksArmed = false;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batchId = 0;
  private dispatches = 0;
  private readonly arena = new Int32Array(ARENA_BYTES / 4);
  private arenaUsed = 0;
  private arenaBuffer: GPUBuffer | null = null;
  private readonly spareArenas: GPUBuffer[] = [];
  /** Buffers freed while the open batch or pending work may use them. */
  private deferred: GpuBuffer[] = [];
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

  /** Operations recorded but not yet encoded because a pipeline they follow is still compiling. */
  get pendingOps(): number {
    return this.pending.length;
  }

  /** The error buffer, for a kernel that checks its indices (the next read will look at it). */
  boundsBuffer(): GpuBuffer {
    this.checksArmed = true;
    this.errorBuffer ??= new GpuBuffer(
      this.device.createBuffer({ size: ERROR_WORDS * 4, usage: this.storageUsage }),
      ERROR_WORDS * 4,
    );
    return this.errorBuffer;
  }

  alloc(bytes: number): GpuBuffer {
    return new GpuBuffer(this.pool.acquire(Math.max(bytes, 4), this.storageUsage), bytes);
  }

  free(buffer: GpuBuffer): void {
    if (buffer.freed) return;
    buffer.freed = true;
    if (buffer.batch === this.batchId || buffer.pendingUses > 0) this.deferred.push(buffer);
    else this.pool.release(buffer.gpu);
  }

  /** Host -> device, ordered after the work recorded before it. */
  write(buffer: GpuBuffer, words: Int32Array | Float32Array | Uint32Array): void {
    if (!words.byteLength) return;
    if (this.pending.length) {
      // writeBuffer acts at once; the caller may reuse `words`, so the queued write keeps a copy.
      buffer.pendingUses++;
      this.pending.push({ kind: 'write', buffer, words: words.slice() });
      return;
    }
    this.writeNow(buffer, words);
  }

  /** Records one compute dispatch (encoded now, or queued behind a compiling pipeline). */
  dispatch(d: Dispatch): void {
    const entry = this.pipeline(d.key, d.code);
    for (const b of d.buffers) {
      if (b.freed) throw new Error(`webgpu: kernel '${d.key}' was given a freed buffer`);
    }
    // The queue is either empty or headed by a dispatch whose pipeline is still compiling.
    if (!this.pending.length && entry.ready) {
      this.encodeDispatch(d, entry.ready);
      return;
    }
    if (!this.pending.length && entry.error) {
      this.failure ??= entry.error;
      return;
    }
    for (const b of d.buffers) b.pendingUses++;
    // The caller's params array may be a view it reuses.
    this.pending.push({ kind: 'dispatch', dispatch: { ...d, params: Array.from(d.params) }, entry });
  }

  /**
   * Copies `bytes` (a multiple of 4) from `src` at `byteOffset` to the host, after all work recorded
   * before it. Raises a compile failure or an out-of-range index reported by that work.
   */
  async readBytes(src: GpuBuffer, byteOffset: number, bytes: number): Promise<ArrayBuffer> {
    // The error words ride along in the same staging buffer, after the data.
    const errors = this.checksArmed && this.errorBuffer ? this.errorBuffer : null;
    this.checksArmed = false;
    const staged = bytes + (errors ? ERROR_WORDS * 4 : 0);
    const staging = this.pool.acquire(staged, this.readUsage);
    // Recorded before the first await, so the read sees exactly the work recorded before the call.
    const copies = [this.recordCopy(src, byteOffset, staging, 0, bytes)];
    if (errors) copies.push(this.recordCopy(errors, 0, staging, bytes, ERROR_WORDS * 4));
    await Promise.all(copies);
    this.flush();
    this.reportFailure(() => this.pool.release(staging));
    await staging.mapAsync(GPUMapMode.READ, 0, staged);
    const mapped = staging.getMappedRange(0, staged);
    const out = mapped.slice(0, bytes);
    const failure = errors && boundsError(new Int32Array(mapped, bytes, ERROR_WORDS));
    staging.unmap();
    this.pool.release(staging);
    if (failure && errors) {
      this.write(errors, new Int32Array(ERROR_WORDS)); // reported once
      throw failure;
    }
    return out;
  }

  async sync(): Promise<void> {
    await this.drained();
    this.flush();
    this.reportFailure();
    if (this.checksArmed && this.errorBuffer) await this.readBytes(this.errorBuffer, 0, ERROR_WORDS * 4);
    await this.device.queue.onSubmittedWorkDone();
  }

  /** Submits the encoded work and returns the deferred buffers it no longer needs to the pool. */
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
    // Everything encoded so far is submitted; buffers that queued work still names stay deferred.
    const waiting: GpuBuffer[] = [];
    for (const b of this.deferred) {
      if (b.pendingUses > 0) waiting.push(b);
      else this.pool.release(b.gpu);
    }
    this.deferred = waiting;
  }

  destroy(): void {
    this.pending.length = 0;
    this.flush();
    this.pool.drain();
    this.errorBuffer?.gpu.destroy();
    for (const b of this.spareArenas) b.destroy();
    this.spareArenas.length = 0;
    this.pipelines.clear();
    this.device.destroy();
  }

  private pipeline(key: string, code: () => string): PipelineEntry {
    let entry = this.pipelines.get(key);
    if (!entry) {
      const created: PipelineEntry = { ready: null, error: null };
      entry = created;
      this.pipelines.set(key, created);
      const module = this.device.createShaderModule({ code: code(), label: key });
      this.device
        .createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key })
        .then(
          (pipeline) => {
            created.ready = { pipeline, layout: pipeline.getBindGroupLayout(0) };
          },
          (e: unknown) => {
            created.error = new Error(
              `webgpu: a kernel failed to compile: ${(e as Error).message ?? e}\n--- its WGSL ---\n${key}`,
            );
          },
        )
        .finally(() => this.drain());
    }
    return entry;
  }

  /** Encodes queued work in order, up to the first dispatch whose pipeline is still compiling. */
  private drain(): void {
    while (this.pending.length) {
      const op = this.pending[0];
      if (op.kind === 'dispatch') {
        if (!op.entry.ready && !op.entry.error) return;
        this.pending.shift();
        for (const b of op.dispatch.buffers) b.pendingUses--;
        // A failed kernel is skipped: its outputs keep what they held, and the next read says why.
        if (op.entry.ready) this.encodeDispatch(op.dispatch, op.entry.ready);
        else this.failure ??= op.entry.error;
      } else if (op.kind === 'write') {
        this.pending.shift();
        op.buffer.pendingUses--;
        this.writeNow(op.buffer, op.words);
      } else if (op.kind === 'marker') {
        this.pending.shift();
        op.recorded();
      } else {
        this.pending.shift();
        op.src.pendingUses--;
        this.encodeCopy(op.src, op.srcOffset, op.dst, op.dstOffset, op.bytes);
        op.recorded();
      }
    }
  }

  /** Resolves once every queued operation is encoded. */
  private drained(): Promise<void> {
    if (!this.pending.length) return Promise.resolve();
    return new Promise((recorded) => this.pending.push({ kind: 'marker', recorded }));
  }

  private recordCopy(
    src: GpuBuffer,
    srcOffset: number,
    dst: GPUBuffer,
    dstOffset: number,
    bytes: number,
  ): Promise<void> {
    if (!this.pending.length) {
      this.encodeCopy(src, srcOffset, dst, dstOffset, bytes);
      return Promise.resolve();
    }
    src.pendingUses++;
    return new Promise((recorded) => {
      this.pending.push({ kind: 'copy', src, srcOffset, dst, dstOffset, bytes, recorded });
    });
  }

  private reportFailure(cleanup?: () => void): void {
    const failure = this.failure;
    if (!failure) return;
    this.failure = null;
    cleanup?.();
    throw failure;
  }

  private writeNow(buffer: GpuBuffer, words: Int32Array | Float32Array | Uint32Array): void {
    // writeBuffer is ordered before everything submitted after it: submit the batch that used it first.
    if (buffer.batch === this.batchId) this.flush();
    this.device.queue.writeBuffer(buffer.gpu, 0, words.buffer, words.byteOffset, words.byteLength);
  }

  private encodeDispatch(d: Dispatch, { pipeline, layout }: CachedPipeline): void {
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

  private encodeCopy(
    src: GpuBuffer,
    srcOffset: number,
    dst: GPUBuffer,
    dstOffset: number,
    bytes: number,
  ): void {
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
}
