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

/** Parses JSON text with an error that names the file and line of a syntax error. */
export function parseJson(text: string, file: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : undefined;
    throw new TokenizerFileError(file, `invalid JSON (${message})`, line);
  }
}
