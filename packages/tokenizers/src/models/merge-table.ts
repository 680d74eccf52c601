/**
 * The BPE merge table keyed by integer pairs: (left id, right id) -> (rank, merged id), in an
 * open-addressing hash over typed arrays. Encoding looks pairs up millions of times; string keys
 * ("a b") would allocate on every lookup.
 */
export class MergeTable {
  private keyA: Int32Array;
  private keyB: Int32Array;
  /** rank of the merge in slot i (lower merges first) */
  readonly ranks: Int32Array;
  /** id of the merged token in slot i */
  readonly results: Int32Array;
  private readonly mask: number;
  size = 0;

  constructor(expected: number) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.mask = cap - 1;
    this.keyA = new Int32Array(cap).fill(-1);
    this.keyB = new Int32Array(cap);
    this.ranks = new Int32Array(cap);
    this.results = new Int32Array(cap);
  }

  private slotOf(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) & this.mask;
  }

  /** Later duplicates overwrite earlier ones, as HF's HashMap construction does. */
  set(a: number, b: number, rank: number, result: number): void {
    let s = this.slotOf(a, b);
    const { keyA, keyB } = this;
    while (keyA[s] !== -1 && (keyA[s] !== a || keyB[s] !== b)) s = (s + 1) & this.mask;
    if (keyA[s] === -1) this.size++;
    keyA[s] = a;
    keyB[s] = b;
    this.ranks[s] = rank;
    this.results[s] = result;
  }

  /** The slot holding (a, b), or -1. */
  find(a: number, b: number): number {
    let s = this.slotOf(a, b);
    const { keyA, keyB } = this;
    for (;;) {
      const ka = keyA[s];
      if (ka === -1) return -1;
      if (ka === a && keyB[s] === b) return s;
      s = (s + 1) & this.mask;
    }
  }
}

const NO_MERGE = 0x7fffffff;

let scratchRank = new Int32Array(256);

/**
 * Applies merges to one word, lowest rank first and leftmost on ties: the order of HF's heap
 * (rank, position) and of tiktoken's scan, so results are identical. `ids[i]` is symbol i and
 * `firsts[i]` the index of its first element (byte or character); both are compacted in place and
 * the new symbol count is returned. Long words go through a heap to stay O(n log n).
 */
export function applyMerges(table: MergeTable, ids: Int32Array, firsts: Int32Array, n: number): number {
  if (n < 2) return n;
  if (n > 96) return applyMergesHeap(table, ids, firsts, n);
  if (scratchRank.length < n) scratchRank = new Int32Array(n * 2);
  const rank = scratchRank;
  const { ranks, results } = table;
  for (let i = 0; i < n - 1; i++) {
    const s = table.find(ids[i], ids[i + 1]);
    rank[i] = s < 0 ? NO_MERGE : ranks[s];
  }
  while (n > 1) {
    let best = NO_MERGE;
    let at = -1;
    for (let i = 0; i < n - 1; i++) {
      if (rank[i] < best) {
        best = rank[i];
        at = i;
      }
    }
    if (at < 0) break;
    ids[at] = results[table.find(ids[at], ids[at + 1])];
    for (let i = at + 1; i < n - 1; i++) {
      ids[i] = ids[i + 1];
      firsts[i] = firsts[i + 1];
      rank[i] = rank[i + 1];
    }
    n--;
    if (at < n - 1) {
      const s = table.find(ids[at], ids[at + 1]);
      rank[at] = s < 0 ? NO_MERGE : ranks[s];
    } else {
      rank[at] = NO_MERGE;
    }
    if (at > 0) {
      const s = table.find(ids[at - 1], ids[at]);
      rank[at - 1] = s < 0 ? NO_MERGE : ranks[s];
    }
  }
  return n;
}

/**
 * The same merge order with a linked list and a lazy min-heap keyed by rank * 2^32 + position
 * (HF's `Word::merge_all`): stale heap entries are skipped when their pair no longer exists.
 */
function applyMergesHeap(table: MergeTable, ids: Int32Array, firsts: Int32Array, n: number): number {
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  const heap = new MinHeap(n);
  const { ranks, results } = table;
  const pushPair = (i: number): void => {
    const j = next[i];
    if (j < 0) return;
    const s = table.find(ids[i], ids[j]);
    if (s >= 0) heap.push(ranks[s] * 4294967296 + i);
  };
  for (let i = 0; i < n - 1; i++) pushPair(i);
  while (heap.size > 0) {
    const key = heap.pop();
    const i = key % 4294967296;
    const rank = (key - i) / 4294967296;
    if (!alive[i]) continue;
    const j = next[i];
    if (j < 0) continue;
    const s = table.find(ids[i], ids[j]);
    if (s < 0 || ranks[s] !== rank) continue;
    ids[i] = results[s];
    alive[j] = 0;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    if (prev[i] >= 0) pushPair(prev[i]);
    pushPair(i);
  }
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (!alive[i]) continue;
    ids[m] = ids[i];
    firsts[m] = firsts[i];
    m++;
  }
  return m;
}

/** A binary min-heap of non-negative integers below 2^53. */
export class MinHeap {
  private data: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.data = new Float64Array(Math.max(16, capacity));
  }

  push(v: number): void {
    if (this.size === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    const d = this.data;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (d[p] <= v) break;
      d[i] = d[p];
      i = p;
    }
    d[i] = v;
  }

  pop(): number {
    const d = this.data;
    const top = d[0];
    const last = d[--this.size];
    let i = 0;
    const n = this.size;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && d[c + 1] < d[c]) c++;
      if (d[c] >= last) break;
      d[i] = d[c];
      i = c;
    }
    d[i] = last;
    return top;
  }
}
