import { JsonReader, type JsonValue } from '../io/json.js';
import { ByteLevelPreTokenizer } from './byte-level.js';
import { Metaspace, type PrependScheme } from './metaspace.js';
import { type PreTokenizer, SPLIT_BEHAVIORS, type SplitBehavior } from './pre-tokenizer.js';
import { PreTokenizerSequence, Split } from './split.js';
import {
  BertPreTokenizer,
  CharDelimiterSplit,
  Digits,
  Punctuation,
  Whitespace,
  WhitespaceSplit,
} from './whitespace.js';

function behavior(r: JsonReader, key: string, fallback: SplitBehavior): SplitBehavior {
  const b = r.string(key, fallback);
  if ((SPLIT_BEHAVIORS as readonly string[]).includes(b)) return b as SplitBehavior;
  return r.fail(`"${key}" must be one of ${SPLIT_BEHAVIORS.join(', ')}`);
}

function prependScheme(r: JsonReader): PrependScheme {
  // Older files have `add_prefix_space: bool` instead of `prepend_scheme`.
  if (!r.has('prepend_scheme')) return r.bool('add_prefix_space', true) ? 'always' : 'never';
  const s = r.string('prepend_scheme');
  if (s === 'always' || s === 'first' || s === 'never') return s;
  return r.fail('"prepend_scheme" must be "always", "first" or "never"');
}

/** Builds a pre-tokenizer from its tokenizer.json section. */
export function preTokenizerFromJSON(value: JsonValue, file: string, path = 'pre_tokenizer'): PreTokenizer {
  const r = JsonReader.of(file, path, value);
  const type = r.type();
  switch (type) {
    case 'ByteLevel':
      return new ByteLevelPreTokenizer({
        addPrefixSpace: r.bool('add_prefix_space', true),
        trimOffsets: r.bool('trim_offsets', true),
        useRegex: r.bool('use_regex', true),
      });
    case 'Whitespace':
      return new Whitespace();
    case 'WhitespaceSplit':
      return new WhitespaceSplit();
    case 'BertPreTokenizer':
      return new BertPreTokenizer();
    case 'Punctuation':
      return new Punctuation(behavior(r, 'behavior', 'Isolated'));
    case 'Digits':
      return new Digits(r.bool('individual_digits', false));
    case 'CharDelimiterSplit':
      return new CharDelimiterSplit(r.string('delimiter'));
    case 'Metaspace':
      return new Metaspace(r.string('replacement', '\u2581'), prependScheme(r), r.bool('split', true));
    case 'Split':
      return new Split(r.pattern('pattern'), behavior(r, 'behavior', 'Isolated'), r.bool('invert', false));
    case 'Sequence':
      return new PreTokenizerSequence(
        r.array('pretokenizers').map((p, i) => preTokenizerFromJSON(p, file, `${path}.pretokenizers[${i}]`)),
      );
    default:
      return r.fail(
        `unsupported pre-tokenizer type "${type}" (supported: ByteLevel, Whitespace, WhitespaceSplit, BertPreTokenizer, Punctuation, Digits, CharDelimiterSplit, Metaspace, Split, Sequence)`,
      );
  }
}
