import type { JsonObject } from '../io/json.js';
import { NormalizedString } from '../normalizers/normalized-string.js';
import type { Normalizer } from '../normalizers/normalizer.js';
import { isAlphanumeric, isWhitespace } from '../unicode/char-classes.js';
import { escapeRegex } from '../unicode/regex.js';

/** A token added on top of the model's vocabulary (HF `AddedToken`). */
export interface AddedToken {
  readonly id: number;
  readonly content: string;
  /** Only match when not inside a word. */
  readonly singleWord: boolean;
  /** Swallow whitespace on the left / right of a match. */
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  /** Match in normalized text (true) or in the raw input (false). */
  readonly normalized: boolean;
  /** Special tokens are skipped by `decode(ids, { skipSpecialTokens: true })`. */
  readonly special: boolean;
}

export type AddedTokenOptions = Partial<Omit<AddedToken, 'id' | 'content'>>;

/** A piece of input: either text still to tokenize, or an added token already found. */
export interface InputPiece {
  readonly ns: NormalizedString;
  readonly token: AddedToken | null;
}

function isWordChar(ch: string): boolean {
  return ch === '_' || isAlphanumeric(ch);
}

/**
 * Added tokens and their matching in text (HF `AddedVocabulary`): non-normalized tokens are found
 * in the raw input first, normalized ones in the normalized remainder; both leftmost-longest.
 */
export class AddedVocabulary {
  private readonly tokens: AddedToken[] = [];
  private readonly byContent = new Map<string, AddedToken>();
  private readonly byId = new Map<number, AddedToken>();
  private rawRegex: RegExp | null = null;
  private normalizedRegex: RegExp | null = null;
  private normalizedContent = new Map<string, AddedToken>();
  private dirty = true;

  get all(): readonly AddedToken[] {
    return this.tokens;
  }

  get size(): number {
    return this.tokens.length;
  }

  byTokenContent(content: string): AddedToken | undefined {
    return this.byContent.get(content);
  }

  byTokenId(id: number): AddedToken | undefined {
    return this.byId.get(id);
  }

  isSpecialId(id: number): boolean {
    return this.byId.get(id)?.special ?? false;
  }

  /** Adds or replaces a token (same content keeps one entry). */
  add(token: AddedToken): void {
    const old = this.byContent.get(token.content);
    if (old !== undefined) {
      this.tokens.splice(this.tokens.indexOf(old), 1);
      this.byId.delete(old.id);
    }
    this.tokens.push(token);
    this.byContent.set(token.content, token);
    this.byId.set(token.id, token);
    this.dirty = true;
  }

  private compile(normalizer: Normalizer | null): void {
    if (!this.dirty) return;
    const raw = this.tokens.filter((t) => !t.normalized && t.content.length > 0);
    this.rawRegex = alternation(raw.map((t) => t.content));
    // Normalized tokens are matched in their normalized spelling (BERT: "[MASK]" -> "[mask]").
    this.normalizedContent = new Map();
    for (const t of this.tokens) {
      if (!t.normalized || t.content.length === 0) continue;
      const ns = NormalizedString.fromOriginal(t.content);
      normalizer?.normalize(ns);
      this.normalizedContent.set(ns.normalized, t);
    }
    this.normalizedRegex = alternation([...this.normalizedContent.keys()]);
    this.dirty = false;
  }

  /**
   * Splits `text` around added tokens and normalizes the rest. Returns pieces in order.
   * `normalizer` is applied to the text between raw matches, as in HF.
   */
  extractAndNormalize(text: string, normalizer: Normalizer | null): InputPiece[] {
    this.compile(normalizer);
    const out: InputPiece[] = [];
    const rawPieces = this.split(NormalizedString.fromOriginal(text), this.rawRegex, (c) =>
      this.byContent.get(c),
    );
    for (const piece of rawPieces) {
      if (piece.token !== null) {
        out.push(piece);
        continue;
      }
      normalizer?.normalize(piece.ns);
      out.push(...this.split(piece.ns, this.normalizedRegex, (c) => this.normalizedContent.get(c)));
    }
    return out;
  }

  private split(
    ns: NormalizedString,
    regex: RegExp | null,
    lookup: (content: string) => AddedToken | undefined,
  ): InputPiece[] {
    const s = ns.normalized;
    if (regex === null || s.length === 0) return s.length === 0 ? [] : [{ ns, token: null }];
    const found: Array<[number, number, AddedToken]> = [];
    let floor = 0;
    regex.lastIndex = 0;
    for (let m = regex.exec(s); m !== null; m = regex.exec(s)) {
      const token = lookup(m[0]) as AddedToken;
      let start = m.index;
      let stop = start + m[0].length;
      if (token.singleWord) {
        const before = start > 0 && isWordChar(lastChar(s.slice(0, start)));
        const after = stop < s.length && isWordChar(firstChar(s.slice(stop)));
        if (before || after) continue;
      }
      if (token.lstrip) {
        let k = start;
        while (k > floor && isWhitespace(s[k - 1])) k--;
        start = k;
      }
      if (token.rstrip) while (stop < s.length && isWhitespace(s[stop])) stop++;
      found.push([start, stop, token]);
      floor = stop;
    }
    if (found.length === 0) return [{ ns, token: null }];
    const out: InputPiece[] = [];
    let last = 0;
    for (const [start, stop, token] of found) {
      if (start > last) out.push({ ns: ns.slice(last, start), token: null });
      out.push({ ns: ns.slice(start, stop), token });
      last = stop;
    }
    if (last < s.length) out.push({ ns: ns.slice(last, s.length), token: null });
    return out;
  }

  toJSON(): JsonObject[] {
    return [...this.tokens]
      .sort((a, b) => a.id - b.id)
      .map((t) => ({
        id: t.id,
        content: t.content,
        single_word: t.singleWord,
        lstrip: t.lstrip,
        rstrip: t.rstrip,
        normalized: t.normalized,
        special: t.special,
      }));
  }
}

/** One regex matching any of `contents`, longest first so alternation gives leftmost-longest. */
function alternation(contents: string[]): RegExp | null {
  if (contents.length === 0) return null;
  const sorted = [...new Set(contents)].sort((a, b) => b.length - a.length);
  return new RegExp(sorted.map(escapeRegex).join('|'), 'gu');
}

function lastChar(s: string): string {
  return Array.from(s.slice(-2)).pop() ?? '';
}

function firstChar(s: string): string {
  return String.fromCodePoint(s.codePointAt(0) ?? 0);
}
