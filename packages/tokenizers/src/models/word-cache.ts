/**
 * Per-word encoding cache looked up by a range of the input text: the hash is computed while
 * scanning and keys are compared in place, so a cache hit allocates nothing (a Map<string, ...>
 * would need the word sliced out and hashed again).
 */
export class WordCache {
  private slots: Int32Array;
  private mask: number;
  private keys: string[] = [];
  private hashes: number[] = [];
  private values: Int32Array[] = [];

  constructor(
    /** Entries kept before the cache starts over; bounds memory on endless streams of new words. */
    private readonly limit: number,
  ) {
    this.slots = new Int32Array(1024);
    this.mask = 1023;
  }

  get size(): number {
    return this.keys.length;
  }

  /** The cached value for text[start, end) with hash `hash`, or undefined. */
  get(text: string, start: number, end: number, hash: number): Int32Array | undefined {
    const len = end - start;
    let s = hash & this.mask;
    for (;;) {
      const e = this.slots[s];
      if (e === 0) return undefined;
      const idx = e - 1;
      if (this.hashes[idx] === hash) {
        const key = this.keys[idx];
        if (key.length === len) {
          let k = 0;
          while (k < len && key.charCodeAt(k) === text.charCodeAt(start + k)) k++;
          if (k === len) return this.values[idx];
        }
      }
      s = (s + 1) & this.mask;
    }
  }

  set(key: string, hash: number, value: Int32Array): void {
    if (this.keys.length >= this.limit) this.clear();
    if ((this.keys.length + 1) * 2 > this.slots.length) this.grow();
    this.keys.push(key);
    this.hashes.push(hash);
    this.values.push(value);
    this.place(hash, this.keys.length);
  }

  clear(): void {
    this.keys = [];
    this.hashes = [];
    this.values = [];
    this.slots = new Int32Array(1024);
    this.mask = 1023;
  }

  private place(hash: number, entry: number): void {
    let s = hash & this.mask;
    while (this.slots[s] !== 0) s = (s + 1) & this.mask;
    this.slots[s] = entry;
  }

  private grow(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    this.mask = this.slots.length - 1;
    for (let i = 0; i < this.keys.length; i++) this.place(this.hashes[i], i + 1);
  }
}
