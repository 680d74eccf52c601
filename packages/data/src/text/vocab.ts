// Token <-> index tables, as in d2l.ai's Vocab (section 9.2, "Converting Raw Text into Sequence
// Data"; the 0.17 edition's ordering): the unknown token first, then the reserved tokens, then
// corpus tokens seen at least minFreq times, most frequent first, ties in order of first
// appearance. Unlike d2l, the unknown token is optional: with `unkToken: null`, looking up a token
// outside the vocabulary is an error that names it.

export interface VocabOptions {
  /** Tokens seen fewer times are left out (they map to the unknown token). Default 1. */
  minFreq?: number;
  /** Tokens that always get an index, right after the unknown token (e.g. '<pad>', '<bos>', '<eos>'). */
  reservedTokens?: readonly string[];
  /** The token unknown tokens map to, at index 0; null for none (unknown tokens then throw). Default '<unk>'. */
  unkToken?: string | null;
}

export class Vocab {
  /** Index -> token. */
  readonly tokens: readonly string[];
  /** Corpus tokens with their counts, most frequent first (ties: first appearance). */
  readonly tokenFreqs: readonly (readonly [string, number])[];
  readonly unkToken: string | null;
  private readonly index: Map<string, number>;

  /** Builds a vocabulary from a token list or a list of token lists (lines). */
  constructor(tokens: readonly (string | readonly string[])[] = [], options: VocabOptions = {}) {
    const minFreq = options.minFreq ?? 1;
    if (!(minFreq >= 0))
      throw new RangeError(`Vocab: minFreq must be a non-negative number (got ${minFreq})`);
    this.unkToken = options.unkToken === undefined ? '<unk>' : options.unkToken;
    // Map iteration follows insertion order, so equal counts keep first-appearance order under the stable sort.
    const counts = new Map<string, number>();
    for (const item of tokens) {
      for (const token of typeof item === 'string' ? [item] : item)
        counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    this.tokenFreqs = [...counts].sort((a, b) => b[1] - a[1]);
    const list: string[] = [];
    this.index = new Map();
    const add = (token: string) => {
      if (this.index.has(token)) return;
      this.index.set(token, list.length);
      list.push(token);
    };
    if (this.unkToken !== null) add(this.unkToken);
    for (const token of options.reservedTokens ?? []) add(token);
    for (const [token, freq] of this.tokenFreqs) if (freq >= minFreq) add(token);
    this.tokens = list;
  }

  /** A vocabulary whose index -> token table is exactly `tokens` (e.g. one saved earlier). */
  static fromTokens(tokens: readonly string[], options: { unkToken?: string | null } = {}): Vocab {
    const seen = new Map<string, number>();
    tokens.forEach((t, i) => {
      if (seen.has(t))
        throw new Error(
          `Vocab.fromTokens: token ${JSON.stringify(t)} appears at index ${seen.get(t)} and ${i}`,
        );
      seen.set(t, i);
    });
    const unkToken = options.unkToken === undefined ? (seen.has('<unk>') ? '<unk>' : null) : options.unkToken;
    if (unkToken !== null && !seen.has(unkToken)) {
      throw new Error(
        `Vocab.fromTokens: the unknown token ${JSON.stringify(unkToken)} is not in the token list`,
      );
    }
    // Reserved tokens keep their order; the unknown token is then named wherever it sits.
    const vocab = new Vocab([], { unkToken: null, reservedTokens: tokens });
    (vocab as { unkToken: string | null }).unkToken = unkToken;
    return vocab;
  }

  get length(): number {
    return this.tokens.length;
  }

  /** The index of the unknown token, or undefined when there is none. */
  get unk(): number | undefined {
    return this.unkToken === null ? undefined : this.index.get(this.unkToken);
  }

  has(token: string): boolean {
    return this.index.has(token);
  }

  /** The index of `token`: the unknown token's for one outside the vocabulary, or an error when there is none. */
  indexOf(token: string): number {
    const i = this.index.get(token);
    if (i !== undefined) return i;
    return this.unknown(token, 'Vocab.indexOf');
  }

  /** Indices of a sequence of tokens. */
  toIndices(tokens: readonly string[]): number[] {
    return tokens.map((t, position) => this.index.get(t) ?? this.unknown(t, 'Vocab.toIndices', position));
  }

  /** The token at `index`. */
  tokenAt(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= this.tokens.length) {
      throw new RangeError(
        `Vocab.tokenAt: index ${index} is out of range for a vocabulary of ${this.tokens.length} tokens`,
      );
    }
    return this.tokens[index];
  }

  /** Tokens of a sequence of indices (accepts typed arrays, e.g. a tensor's data). */
  toTokens(indices: ArrayLike<number>): string[] {
    return Array.from(indices, (i) => this.tokenAt(i));
  }

  private unknown(token: string, where: string, position?: number): number {
    const unk = this.unk;
    if (unk !== undefined) return unk;
    const at = position === undefined ? '' : ` at position ${position}`;
    throw new Error(
      `${where}: unknown token ${JSON.stringify(token)}${at}, and this vocabulary has no unknown token ` +
        "(build it with { unkToken: '<unk>' } to map unknown tokens to it)",
    );
  }
}
