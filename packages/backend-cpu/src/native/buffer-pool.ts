// A free list of large float32 arrays, used with the native path. A fresh 16 MiB Float32Array
// costs its page faults (and, once dropped, a share of a V8 collection) on every training step or
// elementwise op; kernels that stream memory at ~20 GB/s spend more time faulting pages in than
// computing. Core hands a buffer back through `free` when its last view is released, so the same
// memory can serve the next allocation of that size. Reused arrays are zero-filled, keeping
// `alloc`'s contract (fresh memory reads as zeros). Only arrays this pool allocated come back to
// it: an adopted array (safetensors bytes, user data) is never reused.

const MIN_ELEMENTS = 1 << 16; // 256 KiB: below this, allocation is cheap and V8's young space serves it

export class Float32Pool {
  private readonly lists = new Map<number, Float32Array[]>();
  private readonly owned = new WeakSet<Float32Array>();
  private readonly pooled = new WeakSet<Float32Array>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** A zeroed array of `numel` elements, reused when one of that size is free. */
  take(numel: number): Float32Array {
    if (numel >= MIN_ELEMENTS) {
      const reused = this.lists.get(numel)?.pop();
      if (reused !== undefined) {
        this.pooled.delete(reused);
        this.bytes -= reused.byteLength;
        reused.fill(0);
        return reused;
      }
    }
    const fresh = new Float32Array(numel);
    if (numel >= MIN_ELEMENTS) this.owned.add(fresh);
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
