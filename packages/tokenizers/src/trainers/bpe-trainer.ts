import type { ProgressCallback } from './progress.js';

export interface BPETrainerOptions {
  /** Final vocabulary size, special tokens and alphabet included. Default 30000 (HF's). */
  vocabSize?: number;
  /** Pairs seen fewer times are never merged. Default 0 (HF's). */
  minFrequency?: number;
  /** Added first, in order (ids 0, 1, ...). */
  specialTokens?: string[];
  /** Characters kept in the alphabet even if unseen (byte-level: all 256 byte characters). */
  initialAlphabet?: string[];
  /** Keep at most this many characters (the most frequent). */
  limitAlphabet?: number | null;
  continuingSubwordPrefix?: string | null;
  endOfWordSuffix?: string | null;
  /** Merged tokens longer than this many symbols are not created (HF `max_token_length`). */
  maxTokenLength?: number | null;
}

export interface TrainedBPE {
  vocab: Map<string, number>;
  merges: Array<[string, string]>;
}

/** Open-addressing map (left id, right id) -> dense pair index. */
class PairIndex {
  private keys: Int32Array;
  private vals: Int32Array;
  private mask: number;
  a: Int32Array = new Int32Array(1024);
  b: Int32Array = new Int32Array(1024);
  size = 0;

  constructor() {
    this.keys = new Int32Array(2048 * 2).fill(-1);
    this.vals = new Int32Array(2048);
    this.mask = 2047;
  }

  private slot(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x632be5ab, 0x85ebca77)) & this.mask;
  }

  /** The index of (a, b), created if new. */
  get(a: number, b: number): number {
    let s = this.slot(a, b);
    const keys = this.keys;
    for (;;) {
      const ka = keys[2 * s];
      if (ka === -1) break;
      if (ka === a && keys[2 * s + 1] === b) return this.vals[s];
      s = (s + 1) & this.mask;
    }
    const idx = this.size++;
    if (idx === this.a.length) {
      this.a = grow(this.a);
      this.b = grow(this.b);
    }
    this.a[idx] = a;
    this.b[idx] = b;
    keys[2 * s] = a;
    keys[2 * s + 1] = b;
    this.vals[s] = idx;
    if (this.size * 2 > this.vals.length) this.rehash();
    return idx;
  }

  private rehash(): void {
    const cap = this.vals.length * 2;
    this.keys = new Int32Array(cap * 2).fill(-1);
    this.vals = new Int32Array(cap);
    this.mask = cap - 1;
    for (let idx = 0; idx < this.size; idx++) {
      let s = this.slot(this.a[idx], this.b[idx]);
      while (this.keys[2 * s] !== -1) s = (s + 1) & this.mask;
      this.keys[2 * s] = this.a[idx];
      this.keys[2 * s + 1] = this.b[idx];
      this.vals[s] = idx;
    }
  }
}

function grow(a: Int32Array): Int32Array {
  const out = new Int32Array(a.length * 2);
  out.set(a);
  return out;
}

/**
 * Max-heap of (count, pair) in HF's order: higher count first, then the smaller (left id, right id)
 * pair. Entries go stale when counts change; the trainer re-checks them when popped.
 */
class MergeQueue {
  private counts = new Float64Array(1024);
  private pairs: Int32Array = new Int32Array(1024);
  size = 0;

  constructor(
    private readonly pa: () => Int32Array,
    private readonly pb: () => Int32Array,
  ) {}

  private before(ci: number, pi: number, cj: number, pj: number): boolean {
    if (ci !== cj) return ci > cj;
    const a = this.pa();
    if (a[pi] !== a[pj]) return a[pi] < a[pj];
    const b = this.pb();
    return b[pi] < b[pj];
  }

  push(count: number, pair: number): void {
    if (this.size === this.counts.length) {
      const c = new Float64Array(this.size * 2);
      c.set(this.counts);
      this.counts = c;
      this.pairs = grow(this.pairs);
    }
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(count, pair, this.counts[p], this.pairs[p])) break;
      this.counts[i] = this.counts[p];
      this.pairs[i] = this.pairs[p];
      i = p;
    }
    this.counts[i] = count;
    this.pairs[i] = pair;
  }

  /** Pops the top; returns its pair, with its count in `lastCount`. */
  lastCount = 0;
  pop(): number {
    const topPair = this.pairs[0];
    this.lastCount = this.counts[0];
    const n = --this.size;
    const c = this.counts[n];
    const p = this.pairs[n];
    let i = 0;
    for (;;) {
      let k = 2 * i + 1;
      if (k >= n) break;
      if (k + 1 < n && this.before(this.counts[k + 1], this.pairs[k + 1], this.counts[k], this.pairs[k])) k++;
      if (!this.before(this.counts[k], this.pairs[k], c, p)) break;
      this.counts[i] = this.counts[k];
      this.pairs[i] = this.pairs[k];
      i = k;
    }
    this.counts[i] = c;
    this.pairs[i] = p;
    return topPair;
  }
}

/**
 * BPE training (HF's `BpeTrainer`): count pairs once, then repeatedly merge the most frequent pair,
 * updating only the words that contain it. Pair counts and a pair -> words index are maintained
 * incrementally; a lazy-deletion heap picks the next pair. Ties and vocabulary order follow HF:
 * special tokens, then the alphabet sorted by code point, then merges in order.
 */
export function trainBPE(
  wordCounts: Map<string, number>,
  options: BPETrainerOptions = {},
  onProgress: ProgressCallback | null = null,
): TrainedBPE {
  const vocabSize = options.vocabSize ?? 30000;
  const minFrequency = options.minFrequency ?? 0;
  const prefix = options.continuingSubwordPrefix ?? null;
  const suffix = options.endOfWordSuffix ?? null;
  const maxTokenLength = options.maxTokenLength ?? Number.MAX_SAFE_INTEGER;

  const wordToId = new Map<string, number>();
  const idToWord: string[] = [];
  const addToken = (t: string): number => {
    let id = wordToId.get(t);
    if (id === undefined) {
      id = idToWord.length;
      idToWord.push(t);
      wordToId.set(t, id);
    }
    return id;
  };
  for (const t of options.specialTokens ?? []) addToken(t);

  // Alphabet: character frequencies, the initial alphabet forced in, optionally limited.
  const alphabet = new Map<string, number>();
  for (const [word, count] of wordCounts) {
    for (const ch of word) alphabet.set(ch, (alphabet.get(ch) ?? 0) + count);
  }
  for (const ch of options.initialAlphabet ?? []) alphabet.set(ch, Number.POSITIVE_INFINITY);
  let kept = [...alphabet];
  const limit = options.limitAlphabet ?? null;
  if (limit !== null && kept.length > limit) {
    kept.sort((x, y) => x[1] - y[1]);
    kept = kept.slice(kept.length - limit);
  }
  kept.sort((x, y) => (x[0].codePointAt(0) as number) - (y[0].codePointAt(0) as number));
  for (const [ch] of kept) addToken(ch);

  // Words as symbol id arrays (characters outside the alphabet are dropped, as in HF).
  const words: Int32Array[] = [];
  const lengths: number[] = [];
  const symLens: Int32Array[] = [];
  const counts: number[] = [];
  for (const [word, count] of wordCounts) {
    const chars = Array.from(word);
    const syms: number[] = [];
    chars.forEach((ch, i) => {
      if (!wordToId.has(ch)) return;
      let s = ch;
      if (i > 0 && prefix !== null) s = prefix + s;
      if (i === chars.length - 1 && suffix !== null) s = s + suffix;
      syms.push(addToken(s));
    });
    words.push(Int32Array.from(syms));
    symLens.push(new Int32Array(syms.length).fill(1));
    lengths.push(syms.length);
    counts.push(count);
  }

  // Initial pair counts and where each pair occurs.
  const pairs = new PairIndex();
  let pairCount = new Float64Array(1024);
  const pairWords: number[][] = [];
  const ensurePair = (a: number, b: number): number => {
    const p = pairs.get(a, b);
    if (p >= pairCount.length) {
      const c = new Float64Array(pairCount.length * 2);
      c.set(pairCount);
      pairCount = c;
    }
    if (pairWords.length <= p) pairWords.push([]);
    return p;
  };
  for (let w = 0; w < words.length; w++) {
    const syms = words[w];
    for (let i = 0; i + 1 < lengths[w]; i++) {
      const p = ensurePair(syms[i], syms[i + 1]);
      pairCount[p] += counts[w];
      const list = pairWords[p];
      if (list[list.length - 1] !== w) list.push(w);
    }
  }
  const queue = new MergeQueue(
    () => pairs.a,
    () => pairs.b,
  );
  for (let p = 0; p < pairs.size; p++) if (pairCount[p] > 0) queue.push(pairCount[p], p);

  const merges: Array<[string, string]> = [];
  const seen = new Int32Array(words.length).fill(-1);
  const touched: number[] = [];
  const touchedStamp: number[] = [];
  const mergeTotal = Math.max(0, vocabSize - idToWord.length);
  let iteration = 0;

  while (idToWord.length < vocabSize && queue.size > 0) {
    const top = queue.pop();
    const current = pairCount[top];
    if (queue.lastCount !== current) {
      if (current > 0) queue.push(current, top);
      continue;
    }
    if (current < 1 || current < minFrequency) break;

    const a = pairs.a[top];
    const b = pairs.b[top];
    let right = idToWord[b];
    if (prefix !== null && right.startsWith(prefix)) right = right.slice(prefix.length);
    const merged = idToWord[a] + right;
    const c = addToken(merged);
    merges.push([idToWord[a], idToWord[b]]);
    iteration++;

    // Merge (a, b) in every word that has it, recording the pair count changes.
    const change = (x: number, y: number, delta: number, w: number): void => {
      const p = ensurePair(x, y);
      pairCount[p] += delta * counts[w];
      if (delta > 0) {
        const list = pairWords[p];
        if (list[list.length - 1] !== w) list.push(w);
        if (touchedStamp[p] !== iteration) {
          touchedStamp[p] = iteration;
          touched.push(p);
        }
      }
    };
    for (const w of pairWords[top]) {
      if (seen[w] === iteration) continue;
      seen[w] = iteration;
      const syms = words[w];
      const lens = symLens[w];
      let n = lengths[w];
      for (let i = 0; i < n - 1; i++) {
        if (syms[i] !== a || syms[i + 1] !== b) continue;
        const newLen = lens[i] + lens[i + 1];
        if (i > 0) {
          change(syms[i - 1], a, -1, w);
          if (lens[i - 1] + newLen < maxTokenLength) change(syms[i - 1], c, 1, w);
        }
        syms[i] = c;
        lens[i] = newLen;
        syms.copyWithin(i + 1, i + 2, n);
        lens.copyWithin(i + 1, i + 2, n);
        n--;
        if (i < n - 1) {
          change(b, syms[i + 1], -1, w);
          if (lens[i + 1] + newLen < maxTokenLength) change(c, syms[i + 1], 1, w);
        }
      }
      lengths[w] = n;
    }
    for (const p of touched) if (pairCount[p] > 0) queue.push(pairCount[p], p);
    touched.length = 0;
    if (onProgress && iteration % 256 === 0 && iteration < mergeTotal) {
      onProgress({ stage: 'merge', done: iteration, total: mergeTotal });
    }
  }
  // Training can stop early (no pair left, or below minFrequency): the last report says done.
  onProgress?.({ stage: 'merge', done: mergeTotal, total: mergeTotal });
  return { vocab: wordToId, merges };
}
