import { JsonReader, type JsonValue } from '../io/json.js';
import { BertProcessing, PostProcessorSequence, RobertaProcessing } from './bert-roberta.js';
import { ByteLevelProcessor } from './byte-level.js';
import type { PostProcessor } from './post-processor.js';
import {
  pieceFromJSON,
  type TemplatePiece,
  TemplateProcessing,
  type TemplateSpecialToken,
} from './template.js';

function template(r: JsonReader, key: string): TemplatePiece[] {
  return r
    .array(key)
    .map(
      (v, i) => pieceFromJSON(v) ?? r.fail(`${key}[${i}] must be {"Sequence": ...} or {"SpecialToken": ...}`),
    );
}

/** Builds a post-processor from its tokenizer.json section. */
export function postProcessorFromJSON(
  value: JsonValue,
  file: string,
  path = 'post_processor',
): PostProcessor {
  const r = JsonReader.of(file, path, value);
  const type = r.type();
  switch (type) {
    case 'TemplateProcessing': {
      const specials: TemplateSpecialToken[] = [];
      const obj = r.object('special_tokens');
      for (const key of Object.keys(obj.value)) {
        const t = obj.object(key);
        const ids = t
          .array('ids')
          .map((x) => (typeof x === 'number' ? x : t.fail('"ids" must hold numbers')));
        const tokens = t
          .array('tokens')
          .map((x) => (typeof x === 'string' ? x : t.fail('"tokens" must hold strings')));
        specials.push({ id: t.string('id'), ids, tokens });
      }
      try {
        return new TemplateProcessing(template(r, 'single'), template(r, 'pair'), specials);
      } catch (err) {
        return r.fail((err as Error).message);
      }
    }
    case 'BertProcessing':
      return new BertProcessing(r.tokenPair('sep'), r.tokenPair('cls'));
    case 'RobertaProcessing':
      return new RobertaProcessing(
        r.tokenPair('sep'),
        r.tokenPair('cls'),
        r.bool('trim_offsets', true),
        r.bool('add_prefix_space', true),
      );
    case 'ByteLevel':
      return new ByteLevelProcessor(
        r.bool('add_prefix_space', true),
        r.bool('trim_offsets', true),
        r.bool('use_regex', true),
      );
    case 'Sequence':
      return new PostProcessorSequence(
        r.array('processors').map((p, i) => postProcessorFromJSON(p, file, `${path}.processors[${i}]`)),
      );
    default:
      return r.fail(
        `unsupported post-processor type "${type}" (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)`,
      );
  }
}
