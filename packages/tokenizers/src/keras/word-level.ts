/** Keras' default filters: punctuation, tab and newline become separators. */
export const KERAS_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n';

export interface WordLevelOptions {
  /** Keep only the `numWords - 1` most frequent words when converting (Keras `num_words`). */
  numWords?: number | null;
  /** Characters replaced by `split` before splitting. Default: Keras' punctuation set. */
  filters?: string;
  lower?: boolean;
  split?: string;
  /** Word used for everything outside the vocabulary; gets index 1 when set (Keras `oov_token`). */
  oovToken?: string | null;
}

/**
 * A word-level vocabulary in the manner of Keras' `Tokenizer`: `fitOnTexts` counts words,
 * `wordIndex` numbers them by frequency from 1 (0 is left for padding), `textsToSequences` maps
 * texts to index lists. Frequency ties keep first-seen order, as Keras' stable sort does.
 */
export class WordLevel {
  readonly numWords: number | null;
  readonly filters: string;
  readonly lower: boolean;
  readonly split: string;
  readonly oovToken: string | null;
  /** word -> count over all fitted texts, in first-seen order */
  readonly wordCounts = new Map<string, number>();
  /** word -> number of documents containing it */
  readonly wordDocs = new Map<string, number>();
  /** word -> index (1-based; the OOV token first when set) */
  wordIndex = new Map<string, number>();
  /** index -> word */
  indexWord = new Map<number, string>();
  documentCount = 0;
  private readonly filterSet: Set<string>;

  constructor(options: WordLevelOptions = {}) {
    this.numWords = options.numWords ?? null;
    this.filters = options.filters ?? KERAS_FILTERS;
    this.lower = options.lower ?? true;
    this.split = options.split ?? ' ';
    this.oovToken = options.oovToken ?? null;
    this.filterSet = new Set(this.filters);
  }

  /** Keras `text_to_word_sequence`: lowercase, filters to separators, split, drop empties. */
  textToWordSequence(text: string): string[] {
    let t = this.lower ? text.toLowerCase() : text;
    if (this.filterSet.size > 0) {
      let out = '';
      for (const ch of t) out += this.filterSet.has(ch) ? this.split : ch;
      t = out;
    }
    return t.split(this.split).filter((w) => w.length > 0);
  }

  /** Counts the words of `texts` and renumbers the vocabulary (can be called repeatedly). */
  fitOnTexts(texts: Iterable<string>): this {
    for (const text of texts) {
      this.documentCount++;
      const words = this.textToWordSequence(text);
      for (const w of words) this.wordCounts.set(w, (this.wordCounts.get(w) ?? 0) + 1);
      for (const w of new Set(words)) this.wordDocs.set(w, (this.wordDocs.get(w) ?? 0) + 1);
    }
    const sorted = [...this.wordCounts].sort((a, b) => b[1] - a[1]).map(([w]) => w);
    const vocab =
      this.oovToken === null ? sorted : [this.oovToken, ...sorted.filter((w) => w !== this.oovToken)];
    this.wordIndex = new Map(vocab.map((w, i) => [w, i + 1]));
    this.indexWord = new Map(vocab.map((w, i) => [i + 1, w]));
    return this;
  }

  /** Word indices per text; unknown (or beyond `numWords`) words become the OOV index or vanish. */
  textsToSequences(texts: Iterable<string>): number[][] {
    const oov = this.oovToken === null ? undefined : this.wordIndex.get(this.oovToken);
    const out: number[][] = [];
    for (const text of texts) {
      const seq: number[] = [];
      for (const w of this.textToWordSequence(text)) {
        const i = this.wordIndex.get(w);
        if (i !== undefined && (this.numWords === null || i < this.numWords)) seq.push(i);
        else if (oov !== undefined) seq.push(oov);
      }
      out.push(seq);
    }
    return out;
  }

  /** Indices back to space-joined words (Keras `sequences_to_texts`); 0 and unknown indices are dropped. */
  sequencesToTexts(sequences: Iterable<ArrayLike<number>>): string[] {
    const oov = this.oovToken === null ? undefined : this.wordIndex.get(this.oovToken);
    const out: string[] = [];
    for (const seq of sequences) {
      const words: string[] = [];
      for (let k = 0; k < seq.length; k++) {
        const i = seq[k];
        const beyond = this.numWords !== null && i >= this.numWords;
        const w = beyond ? undefined : this.indexWord.get(i);
        if (w !== undefined) words.push(w);
        else if (oov !== undefined) words.push(this.oovToken as string);
      }
      out.push(words.join(' '));
    }
    return out;
  }

  /** Vocabulary size including the padding index 0 (the embedding table size a model needs). */
  get vocabSize(): number {
    const n = this.wordIndex.size + 1;
    return this.numWords === null ? n : Math.min(n, this.numWords);
  }

  /** Keras' `to_json` config fields, for saving the fitted state. */
  toJSON(): {
    config: Required<WordLevelOptions>;
    wordCounts: Record<string, number>;
    documentCount: number;
  } {
    return {
      config: {
        numWords: this.numWords,
        filters: this.filters,
        lower: this.lower,
        split: this.split,
        oovToken: this.oovToken,
      },
      wordCounts: Object.fromEntries(this.wordCounts),
      documentCount: this.documentCount,
    };
  }
}

export interface PadSequencesOptions {
  /** Default: the longest sequence. */
  maxLength?: number;
  /** Where padding goes; Keras' default is 'pre'. */
  padding?: 'pre' | 'post';
  /** Which end is cut when too long; Keras' default is 'pre'. */
  truncating?: 'pre' | 'post';
  value?: number;
}

/**
 * Keras `pad_sequences`: a [batch, maxLength] row-major Int32Array, ready for an int32 tensor.
 */
export function padSequences(
  sequences: ReadonlyArray<ArrayLike<number>>,
  options: PadSequencesOptions = {},
): { data: Int32Array; shape: [number, number] } {
  const maxLength = options.maxLength ?? sequences.reduce((m, s) => Math.max(m, s.length), 0);
  const data = new Int32Array(sequences.length * maxLength).fill(options.value ?? 0);
  sequences.forEach((seq, row) => {
    const n = Math.min(seq.length, maxLength);
    const from = (options.truncating ?? 'pre') === 'pre' ? seq.length - n : 0;
    const to = (options.padding ?? 'pre') === 'pre' ? maxLength - n : 0;
    for (let k = 0; k < n; k++) data[row * maxLength + to + k] = seq[from + k];
  });
  return { data, shape: [sequences.length, maxLength] };
}
