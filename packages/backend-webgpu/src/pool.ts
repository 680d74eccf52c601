// A size-class buffer pool. Sizes round up to one of four classes per power of two (at most 25%
// waste), freed buffers wait in per-(usage, class) free lists, and the pool's total is capped:
// a buffer returned past the cap is destroyed instead of kept.

/** The pooled size for a request of `bytes`: 256 bytes minimum, then 4 classes per octave. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const octave = 2 ** Math.floor(Math.log2(bytes));
  const step = Math.max(octave / 4, 256);
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  pooledBytes = 0;
  liveBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Upper bound on bytes kept in free lists. */
    readonly maxPooledBytes: number,
  ) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(`${usage}:${size}`);
    const reused = list?.pop();
    this.liveBytes += size;
    if (reused) {
      this.pooledBytes -= size;
      return reused;
    }
    return this.device.createBuffer({ size, usage });
  }

  release(buffer: GPUBuffer): void {
    this.liveBytes -= buffer.size;
    if (this.pooledBytes + buffer.size > this.maxPooledBytes) {
      buffer.destroy();
      return;
    }
    const key = `${buffer.usage}:${buffer.size}`;
    let list = this.free.get(key);
    if (!list) {
      list = [];
      this.free.set(key, list);
    }
    list.push(buffer);
    this.pooledBytes += buffer.size;
  }

  /** Destroys every pooled buffer. */
  drain(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}
