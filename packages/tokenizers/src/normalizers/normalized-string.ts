/**
 * A piece of text being normalized, with the alignment back to the original input (Hugging Face's
 * `NormalizedString`). Every normalized UTF-16 code unit knows the original code-unit range it came
 * from, so token offsets always index the string the user passed in, whatever the normalizers did.
 */
export class NormalizedString {
  private constructor(
    /** The whole original input (not only this piece). */
    readonly original: string,
    private text: string,
    /** Pairs (start, end) per normalized code unit; null while the piece is an untouched slice. */
    private align: Int32Array | null,
    /** Where the untouched slice starts in `original` (used while `align` is null). */
    private readonly base: number,
  ) {}

  /** The original input, or the part [start, end) of it, unnormalized. */
  static fromOriginal(original: string, start = 0, end = original.length): NormalizedString {
    return new NormalizedString(original, original.slice(start, end), null, start);
  }

  get normalized(): string {
    return this.text;
  }

  get length(): number {
    return this.text.length;
  }

  /** True while no normalizer changed the text, so offsets are `base + i`. */
  get isIdentity(): boolean {
    return this.align === null;
  }

  get originalStart(): number {
    return this.align === null ? this.base : this.originalRange(0, 0)[0];
  }

  /** The original range covered by the normalized range [start, end). */
  originalRange(start: number, end: number): [number, number] {
    const align = this.align;
    if (align === null) return [this.base + start, this.base + end];
    const n = this.text.length;
    if (n === 0) return [this.base, this.base];
    if (start >= end) {
      const at = start < n ? align[2 * start] : align[2 * n - 1];
      return [at, at];
    }
    return [align[2 * start], align[2 * (end - 1) + 1]];
  }

  /** A sub-piece over normalized [start, end), keeping its alignment. */
  slice(start: number, end: number): NormalizedString {
    if (this.align === null) {
      return new NormalizedString(this.original, this.text.slice(start, end), null, this.base + start);
    }
    const [origStart] = this.originalRange(start, end);
    return new NormalizedString(
      this.original,
      this.text.slice(start, end),
      this.align.slice(2 * start, 2 * end),
      origStart,
    );
  }

  private materializeAlign(): Int32Array {
    if (this.align !== null) return this.align;
    const a = new Int32Array(2 * this.text.length);
    for (let i = 0; i < this.text.length; i++) {
      a[2 * i] = this.base + i;
      a[2 * i + 1] = this.base + i + 1;
    }
    return a;
  }

  /**
   * Rewrites the text character by character (code points). Every unit of a replacement inherits
   * the original range of the character it replaces; an empty replacement deletes the character.
   */
  mapChars(fn: (ch: string) => string, bulk?: BulkRewrite): this {
    const s = this.text;
    // First pass without alignment work: most rewrites (ASCII lowercasing, space for tab) keep
    // every character's length, and then the alignment is unchanged. `bulk` rewrites whole runs
    // of characters it declares length-preserving, saving a call per character.
    const parts: string[] = [];
    let changed = false;
    let sameShape = true;
    const perChar = (from: number, to: number): void => {
      for (let i = from; i < to; ) {
        const c = s.charCodeAt(i);
        const units = c >= 0xd800 && c <= 0xdbff && i + 1 < to && isLowSurrogate(s.charCodeAt(i + 1)) ? 2 : 1;
        const ch = units === 1 ? s[i] : s.slice(i, i + 2);
        const rep = fn(ch);
        if (rep !== ch) {
          changed = true;
          if (rep.length !== units) sameShape = false;
        }
        parts.push(rep);
        i += units;
      }
    };
    if (bulk === undefined) perChar(0, s.length);
    else {
      let last = 0;
      bulk.pattern.lastIndex = 0;
      for (let m = bulk.pattern.exec(s); m !== null; m = bulk.pattern.exec(s)) {
        perChar(last, m.index);
        const rep = bulk.map(m[0]);
        if (rep !== m[0]) changed = true;
        parts.push(rep);
        last = m.index + m[0].length;
      }
      perChar(last, s.length);
    }
    if (!changed) return this;
    if (sameShape) {
      this.text = parts.join('');
      return this;
    }
    // Alignment pass: only reached when some rewrite changed a length, so bulk runs are walked
    // per character again (they map unit i to unit i).
    const align = this.materializeAlign();
    const next: number[] = [];
    const push = (from: number, to: number): void => {
      for (let i = from; i < to; ) {
        const c = s.charCodeAt(i);
        const units = c >= 0xd800 && c <= 0xdbff && i + 1 < to && isLowSurrogate(s.charCodeAt(i + 1)) ? 2 : 1;
        const rep = fn(units === 1 ? s[i] : s.slice(i, i + 2));
        const os = align[2 * i];
        const oe = align[2 * (i + units - 1) + 1];
        for (let u = 0; u < rep.length; u++) next.push(os, oe);
        i += units;
      }
    };
    if (bulk === undefined) push(0, s.length);
    else {
      let last = 0;
      bulk.pattern.lastIndex = 0;
      for (let m = bulk.pattern.exec(s); m !== null; m = bulk.pattern.exec(s)) {
        push(last, m.index);
        for (let k = m.index; k < m.index + m[0].length; k++) next.push(align[2 * k], align[2 * k + 1]);
        last = m.index + m[0].length;
      }
      push(last, s.length);
    }
    this.text = parts.join('');
    this.align = Int32Array.from(next);
    return this;
  }

  /**
   * Applies a transform to clusters (a base character and the combining marks after it). Unicode
   * normalization forms compose and reorder inside a cluster, so it is the smallest unit whose
   * alignment stays meaningful; unchanged clusters keep per-character alignment.
   */
  mapClusters(fn: (cluster: string) => string): this {
    const s = this.text;
    const align = this.materializeAlign();
    const next: number[] = [];
    let out = '';
    let changed = false;
    CLUSTER.lastIndex = 0;
    for (let m = CLUSTER.exec(s); m !== null; m = CLUSTER.exec(s)) {
      const cluster = m[0];
      const start = m.index;
      const rep = fn(cluster);
      if (rep === cluster) {
        for (let k = 0; k < cluster.length; k++)
          next.push(align[2 * (start + k)], align[2 * (start + k) + 1]);
      } else {
        changed = true;
        alignCluster(cluster, rep, start, align, next);
      }
      out += rep;
    }
    if (changed) {
      this.text = out;
      this.align = Int32Array.from(next);
    }
    return this;
  }

  /** Replaces every match of a global regex; each inserted unit maps to the whole matched range. */
  replaceAll(pattern: RegExp, content: string): this {
    const s = this.text;
    const align = this.materializeAlign();
    const next: number[] = [];
    let out = '';
    let last = 0;
    let changed = false;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(s); m !== null; m = pattern.exec(s)) {
      if (m[0].length === 0) {
        pattern.lastIndex++;
        continue;
      }
      changed = true;
      for (let k = last; k < m.index; k++) next.push(align[2 * k], align[2 * k + 1]);
      out += s.slice(last, m.index);
      const os = align[2 * m.index];
      const oe = align[2 * (m.index + m[0].length - 1) + 1];
      for (let k = 0; k < content.length; k++) next.push(os, oe);
      out += content;
      last = m.index + m[0].length;
    }
    if (!changed) return this;
    for (let k = last; k < s.length; k++) next.push(align[2 * k], align[2 * k + 1]);
    out += s.slice(last);
    this.text = out;
    this.align = Int32Array.from(next);
    return this;
  }

  /** Inserts text at the start; it takes the alignment of the first character (as HF does). */
  prepend(prefix: string): this {
    if (this.text.length === 0 || prefix.length === 0) return this;
    const align = this.materializeAlign();
    const next = new Int32Array(align.length + 2 * prefix.length);
    for (let k = 0; k < prefix.length; k++) {
      next[2 * k] = align[0];
      next[2 * k + 1] = align[1];
    }
    next.set(align, 2 * prefix.length);
    this.text = prefix + this.text;
    this.align = next;
    return this;
  }

  /** Removes `left` units at the start and `right` at the end. */
  trim(left: number, right: number): this {
    if (left === 0 && right === 0) return this;
    const end = this.text.length - right;
    const align = this.materializeAlign();
    this.text = this.text.slice(left, end);
    this.align = align.slice(2 * left, 2 * end);
    return this;
  }
}

/**
 * Alignment for a cluster rewritten by a normalization form: an output character that also occurs
 * in the input (reordered marks, a kept base letter) keeps that character's range; a new one
 * (composed or decomposed) gets the whole cluster's range.
 */
function alignCluster(cluster: string, rep: string, start: number, align: Int32Array, next: number[]): void {
  const inputs: Array<[string, number, number]> = [];
  for (let k = 0; k < cluster.length; ) {
    const units = (cluster.codePointAt(k) as number) > 0xffff ? 2 : 1;
    inputs.push([
      cluster.slice(k, k + units),
      align[2 * (start + k)],
      align[2 * (start + k + units - 1) + 1],
    ]);
    k += units;
  }
  const used = new Uint8Array(inputs.length);
  const whole: [number, number] = [align[2 * start], align[2 * (start + cluster.length - 1) + 1]];
  for (const ch of rep) {
    let range = whole;
    for (let i = 0; i < inputs.length; i++) {
      if (!used[i] && inputs[i][0] === ch) {
        used[i] = 1;
        range = [inputs[i][1], inputs[i][2]];
        break;
      }
    }
    for (let k = 0; k < ch.length; k++) next.push(range[0], range[1]);
  }
}

/** A fast path for `mapChars`: runs matching `pattern` (global) are rewritten whole by `map`, which must keep their length. */
export interface BulkRewrite {
  readonly pattern: RegExp;
  readonly map: (run: string) => string;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** A code point followed by combining marks (and Hangul medial/final jamo, which NFC composes). */
const CLUSTER = /[\s\S][\p{M}\u1160-\u11ff]*/gu;
