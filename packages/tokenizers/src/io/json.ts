import { TokenizerFileError } from './errors.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * Typed field access for tokenizer.json sections. A wrong or missing field is an error that names
 * the file and the JSON path (`model.vocab`), never an `undefined` that fails later.
 */
export class JsonReader {
  constructor(
    readonly file: string,
    readonly path: string,
    readonly value: JsonObject,
  ) {}

  static of(file: string, path: string, value: JsonValue | undefined): JsonReader {
    if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
      throw new TokenizerFileError(file, `${path} must be an object`);
    }
    return new JsonReader(file, path, value);
  }

  fail(detail: string): never {
    throw new TokenizerFileError(this.file, `${this.path}: ${detail}`);
  }

  has(key: string): boolean {
    return this.value[key] !== undefined && this.value[key] !== null;
  }

  raw(key: string): JsonValue | undefined {
    return this.value[key];
  }

  string(key: string, fallback?: string): string {
    const v = this.value[key];
    if (typeof v === 'string') return v;
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    return this.fail(`"${key}" must be a string`);
  }

  optString(key: string): string | null {
    const v = this.value[key];
    if (v === undefined || v === null) return null;
    if (typeof v === 'string') return v;
    return this.fail(`"${key}" must be a string or null`);
  }

  number(key: string, fallback?: number): number {
    const v = this.value[key];
    if (typeof v === 'number') return v;
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    return this.fail(`"${key}" must be a number`);
  }

  optNumber(key: string): number | null {
    const v = this.value[key];
    if (v === undefined || v === null) return null;
    if (typeof v === 'number') return v;
    return this.fail(`"${key}" must be a number or null`);
  }

  bool(key: string, fallback?: boolean): boolean {
    const v = this.value[key];
    if (typeof v === 'boolean') return v;
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    return this.fail(`"${key}" must be a boolean`);
  }

  optBool(key: string): boolean | null {
    const v = this.value[key];
    if (v === undefined || v === null) return null;
    if (typeof v === 'boolean') return v;
    return this.fail(`"${key}" must be a boolean or null`);
  }

  array(key: string): JsonValue[] {
    const v = this.value[key];
    if (Array.isArray(v)) return v;
    return this.fail(`"${key}" must be an array`);
  }

  object(key: string): JsonReader {
    return JsonReader.of(this.file, `${this.path}.${key}`, this.value[key]);
  }

  /** A [string, number] pair such as BertProcessing's `"sep": ["[SEP]", 102]`. */
  tokenPair(key: string): [string, number] {
    const v = this.value[key];
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'number') {
      return [v[0], v[1]];
    }
    return this.fail(`"${key}" must be a [token, id] pair`);
  }

  /** The `{"String": "..."}` / `{"Regex": "..."}` pattern objects of Split and Replace. */
  pattern(key: string): Pattern {
    const p = this.object(key);
    if (typeof p.value.String === 'string') return { kind: 'string', source: p.value.String };
    if (typeof p.value.Regex === 'string') return { kind: 'regex', source: p.value.Regex };
    return p.fail('expected {"String": ...} or {"Regex": ...}');
  }

  /** The section's type tag. */
  type(): string {
    return this.string('type');
  }
}

export interface Pattern {
  readonly kind: 'string' | 'regex';
  readonly source: string;
}

export function patternToJSON(p: Pattern): JsonObject {
  return p.kind === 'string' ? { String: p.source } : { Regex: p.source };
}

/** Parses JSON text with an error that names the file and the line of a syntax error. */
export function parseJson(text: string, file: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    // Node 20's messages carry no position, so locate the error with a small validator.
    const at = jsonErrorPosition(text);
    const line = at < 0 ? undefined : text.slice(0, at).split('\n').length;
    throw new TokenizerFileError(
      file,
      `invalid JSON (${(err as Error).message.split('\n')[0].slice(0, 120)})`,
      line,
    );
  }
}

/** Index of the first JSON syntax error in `text`, or -1 (a recursive-descent validator). */
export function jsonErrorPosition(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = (): void => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      i += text[i] === '\\' ? 2 : 1;
    }
    if (i >= text.length) fail();
    i++;
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (!m) fail();
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else number();
  };
  try {
    value();
    ws();
    return i < text.length ? i : -1;
  } catch (pos) {
    return typeof pos === 'number' ? Math.min(pos, text.length) : -1;
  }
}
