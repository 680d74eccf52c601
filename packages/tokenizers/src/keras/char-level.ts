export interface CharLevelOptions {
  lower?: boolean;
  /** Character used for unseen characters; index 1 when set. */
  oovToken?: string | null;
  /** Extra tokens numbered before the characters (after the OOV token), e.g. start/end markers. */
  specialTokens?: string[];
}

/**
 * A character vocabulary (Keras `Tokenizer(char_level=True)`): characters numbered by frequency
 * from 1, 0 left for padding. Characters are code points, so an emoji is one character.
 */
export class CharLevel {
  readonly lower: boolean;
  readonly oovToken: string | null;
  readonly specialTokens: string[];
  readonly charCounts = new Map<string, number>();
  charIndex = new Map<string, number>();
  indexChar = new Map<number, string>();

  constructor(options: CharLevelOptions = {}) {
    this.lower = options.lower ?? false;
    this.oovToken = options.oovToken ?? null;
    this.specialTokens = options.specialTokens ?? [];
  }

  fitOnTexts(texts: Iterable<string>): this {
    for (const text of texts) {
      for (const ch of this.lower ? text.toLowerCase() : text)
        this.charCounts.set(ch, (this.charCounts.get(ch) ?? 0) + 1);
    }
    const first = [...(this.oovToken === null ? [] : [this.oovToken]), ...this.specialTokens];
    const reserved = new Set(first);
    const sorted = [...this.charCounts]
      .sort((a, b) => b[1] - a[1])
      .map(([c]) => c)
      .filter((c) => !reserved.has(c));
    const vocab = [...first, ...sorted];
    this.charIndex = new Map(vocab.map((c, i) => [c, i + 1]));
    this.indexChar = new Map(vocab.map((c, i) => [i + 1, c]));
    return this;
  }

  /** Character indices; unseen characters become the OOV index or are dropped. */
  encode(text: string): number[] {
    const oov = this.oovToken === null ? undefined : this.charIndex.get(this.oovToken);
    const out: number[] = [];
    for (const ch of this.lower ? text.toLowerCase() : text) {
      const i = this.charIndex.get(ch) ?? oov;
      if (i !== undefined) out.push(i);
    }
    return out;
  }

  /** Indices back to text; 0 (padding) and unknown indices are skipped. */
  decode(ids: ArrayLike<number>): string {
    let out = '';
    for (let k = 0; k < ids.length; k++) out += this.indexChar.get(ids[k]) ?? '';
    return out;
  }

  textsToSequences(texts: Iterable<string>): number[][] {
    return Array.from(texts, (t) => this.encode(t));
  }

  /** Including the padding index 0. */
  get vocabSize(): number {
    return this.charIndex.size + 1;
  }
}
