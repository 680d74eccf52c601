// A free list of large float32 arrays, used with the native path. A fresh 16 MiB Float32Array
// costs its page faults (and, once dropped, a share of a V8 collection) on every training step or
// elementwise op; kernels that stream memory at ~20 GB/s spend more time faulting pages in than
// computing. Core hands a buffer back through `free` when its last view is released, so the same
// memory can serve the next allocation of that size. Only arrays this pool allocated come back to
// it: an adopted array (safetensors bytes, user data) is never reused.
//
// A reused array is not cleared: core writes every output before reading it and makes zeros with
// `fill` (as it must for GPU backends, whose pooled memory is never cleared either). The native
// conformance run checks exactly that with KILN_CPU_POOL_POISON=1, which pools every size and
// fills each reused array with NaN, so a read before a write shows up as a wrong value.

// 4 KiB and up. A typed array's backing store lives outside V8's heap (zero-filled on creation,
// collected by a full GC), so even activations of a small MLP ([128, 256]: 128 KiB) are cheaper
// reused: pooling from 4 KiB instead of 256 KiB took the W3 step's median from 2.33-2.51 ms to
// 1.91-2.21 ms (three alternating pairs of 300 steps, 2026-11-22). Below it, allocation is cheap.
const MIN_ELEMENTS = 1 << 10;

export interface Float32PoolOptions {
  /** Pool every size and fill reused arrays with NaN (tests of the write-before-read contract). */
  poison?: boolean;
}

export class Float32Pool {
  private readonly lists = new Map<number, Float32Array[]>();
  private readonly owned = new WeakSet<Float32Array>();
  private readonly pooled = new WeakSet<Float32Array>();
  private readonly minElements: number;
  private readonly poison: boolean;
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    options: Float32PoolOptions = {},
  ) {
    this.poison = options.poison ?? false;
    this.minElements = this.poison ? 1 : MIN_ELEMENTS;
  }

  /** An array of `numel` elements: a returned one of that size (contents unspecified), or a new one. */
  take(numel: number): Float32Array {
    if (numel >= this.minElements) {
      const reused = this.lists.get(numel)?.pop();
      if (reused !== undefined) {
        this.pooled.delete(reused);
        this.bytes -= reused.byteLength;
        if (this.poison) reused.fill(Number.NaN);
        return reused;
      }
    }
    const fresh = new Float32Array(numel);
    if (numel >= this.minElements) this.owned.add(fresh);
    return fresh;
  }

  /** Returns an array this pool made; anything else (or a second return) is ignored. */
  give(array: Float32Array): void {
    if (!this.owned.has(array) || this.pooled.has(array)) return;
    if (this.bytes + array.byteLength > this.maxBytes) return;
    let list = this.lists.get(array.length);
    if (list === undefined) {
      list = [];
      this.lists.set(array.length, list);
    }
    list.push(array);
    this.pooled.add(array);
    this.bytes += array.byteLength;
  }

  get pooledBytes(): number {
    return this.bytes;
  }
}
