import { JsonReader, type JsonValue } from '../io/json.js';
import { BertNormalizer } from './bert.js';
import { Lowercase, StripAccents } from './case-and-accents.js';
import type { Normalizer } from './normalizer.js';
import { NormalizerSequence, Prepend, Replace, Strip } from './text-edits.js';
import { UnicodeNormalizer } from './unicode-forms.js';

/** Builds a normalizer from its tokenizer.json section. */
export function normalizerFromJSON(value: JsonValue, file: string, path = 'normalizer'): Normalizer {
  const r = JsonReader.of(file, path, value);
  const type = r.type();
  switch (type) {
    case 'BertNormalizer':
      return new BertNormalizer({
        cleanText: r.bool('clean_text', true),
        handleChineseChars: r.bool('handle_chinese_chars', true),
        stripAccents: r.optBool('strip_accents'),
        lowercase: r.bool('lowercase', true),
      });
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return new UnicodeNormalizer(type);
    case 'Lowercase':
      return new Lowercase();
    case 'StripAccents':
      return new StripAccents();
    case 'Strip':
      return new Strip(r.bool('strip_left', true), r.bool('strip_right', true));
    case 'Replace':
      return new Replace(r.pattern('pattern'), r.string('content'));
    case 'Prepend':
      return new Prepend(r.string('prepend'));
    case 'Sequence':
      return new NormalizerSequence(
        r.array('normalizers').map((n, i) => normalizerFromJSON(n, file, `${path}.normalizers[${i}]`)),
      );
    default:
      return r.fail(
        `unsupported normalizer type "${type}" (supported: BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Replace, Prepend, Sequence)`,
      );
  }
}
