import { Encoding } from '../encoding/encoding.js';
import type { JsonObject, JsonValue } from '../io/json.js';
import type { PostProcessor } from './post-processor.js';

/** One item of a template: an input sequence or a special token, with its type id. */
export type TemplatePiece =
  | { readonly kind: 'sequence'; readonly id: 'A' | 'B'; readonly typeId: number }
  | { readonly kind: 'special'; readonly id: string; readonly typeId: number };

/** A special token of a template; it may stand for several ids. */
export interface TemplateSpecialToken {
  readonly id: string;
  readonly ids: number[];
  readonly tokens: string[];
}

/**
 * Parses HF's template syntax: `"[CLS] $A [SEP] $B:1 [SEP]:1"`. `$A`/`$B` (or `$` for A) are the
 * inputs, anything else a special token, and `:n` a type id.
 */
export function parseTemplate(template: string): TemplatePiece[] {
  return template
    .split(/\s+/)
    .filter((s) => s.length > 0)
    .map((item): TemplatePiece => {
      const m = /^(.*?)(?::(\d+))?$/.exec(item) as RegExpExecArray;
      const name = m[1];
      const typeId = m[2] === undefined ? 0 : Number(m[2]);
      if (name === '$' || name === '$A' || name === '$a') return { kind: 'sequence', id: 'A', typeId };
      if (name === '$B' || name === '$b') return { kind: 'sequence', id: 'B', typeId };
      if (name.startsWith('$'))
        throw new Error(`TemplateProcessing: unknown sequence "${name}" (use $A or $B)`);
      return { kind: 'special', id: name, typeId };
    });
}

function pieceToJSON(p: TemplatePiece): JsonObject {
  return p.kind === 'sequence'
    ? { Sequence: { id: p.id, type_id: p.typeId } }
    : { SpecialToken: { id: p.id, type_id: p.typeId } };
}

/** HF `TemplateProcessing`: special tokens and type ids laid out by a template. */
export class TemplateProcessing implements PostProcessor {
  readonly single: TemplatePiece[];
  readonly pair: TemplatePiece[];
  readonly specialTokens: Map<string, TemplateSpecialToken>;

  constructor(
    single: string | TemplatePiece[],
    pair: string | TemplatePiece[] | null,
    specialTokens: Iterable<TemplateSpecialToken> | Array<[string, number]>,
  ) {
    this.single = typeof single === 'string' ? parseTemplate(single) : single;
    this.pair =
      pair === null
        ? [...this.single, { kind: 'sequence', id: 'B', typeId: 1 }]
        : typeof pair === 'string'
          ? parseTemplate(pair)
          : pair;
    this.specialTokens = new Map();
    for (const t of specialTokens) {
      const token: TemplateSpecialToken = Array.isArray(t) ? { id: t[0], ids: [t[1]], tokens: [t[0]] } : t;
      this.specialTokens.set(token.id, token);
    }
    for (const p of [...this.single, ...this.pair]) {
      if (p.kind === 'special' && !this.specialTokens.has(p.id)) {
        throw new Error(`TemplateProcessing: the template uses "${p.id}" but no id was given for it`);
      }
    }
  }

  addedTokens(isPair: boolean): number {
    let n = 0;
    for (const p of isPair ? this.pair : this.single) {
      if (p.kind === 'special') n += this.specialTokens.get(p.id)?.ids.length ?? 0;
    }
    return n;
  }

  process(encoding: Encoding, pair: Encoding | null, addSpecialTokens: boolean): Encoding {
    const template = pair === null ? this.single : this.pair;
    const apply = (a: Encoding, b: Encoding | null): Encoding => {
      const parts: Encoding[] = [];
      for (const p of template) {
        if (p.kind === 'sequence') {
          const src = p.id === 'A' ? a : b;
          if (src === null)
            throw new Error('TemplateProcessing: the template needs a pair ($B) but got one sequence');
          parts.push(src.withSequence(p.typeId, p.id === 'A' ? 0 : 1));
        } else if (addSpecialTokens) {
          const t = this.specialTokens.get(p.id) as TemplateSpecialToken;
          parts.push(Encoding.special(t.ids, t.tokens, p.typeId));
        }
      }
      return Encoding.concat(parts);
    };
    const main = apply(encoding, pair);
    const overflowing = [
      ...encoding.overflowing.map((o) => apply(o, pair)),
      ...(pair?.overflowing ?? []).map((o) => apply(encoding, o)),
    ];
    return overflowing.length ? new Encoding({ ...main.fields(), overflowing }) : main;
  }

  toJSON(): JsonObject {
    const special: JsonObject = {};
    for (const [k, t] of this.specialTokens) special[k] = { id: t.id, ids: t.ids, tokens: t.tokens };
    return {
      type: 'TemplateProcessing',
      single: this.single.map(pieceToJSON),
      pair: this.pair.map(pieceToJSON),
      special_tokens: special,
    };
  }
}

/** Parses the JSON form of a template piece. */
export function pieceFromJSON(v: JsonValue): TemplatePiece | null {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const seq = v.Sequence;
  if (seq && typeof seq === 'object' && !Array.isArray(seq)) {
    const id = seq.id === 'B' ? 'B' : 'A';
    return { kind: 'sequence', id, typeId: typeof seq.type_id === 'number' ? seq.type_id : 0 };
  }
  const sp = v.SpecialToken;
  if (sp && typeof sp === 'object' && !Array.isArray(sp) && typeof sp.id === 'string') {
    return { kind: 'special', id: sp.id, typeId: typeof sp.type_id === 'number' ? sp.type_id : 0 };
  }
  return null;
}
