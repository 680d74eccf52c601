import { JsonReader, type JsonValue } from '../io/json.js';
import { ByteLevelDecoder } from './byte-level.js';
import type { Decoder } from './decoder.js';
import { BPEDecoder, MetaspaceDecoder, WordPieceDecoder } from './subword.js';
import {
  ByteFallbackDecoder,
  DecoderSequence,
  FuseDecoder,
  ReplaceDecoder,
  StripDecoder,
} from './text-edits.js';

/** Builds a decoder from its tokenizer.json section. */
export function decoderFromJSON(value: JsonValue, file: string, path = 'decoder'): Decoder {
  const r = JsonReader.of(file, path, value);
  const type = r.type();
  switch (type) {
    case 'ByteLevel':
      return new ByteLevelDecoder(
        r.bool('add_prefix_space', true),
        r.bool('trim_offsets', true),
        r.bool('use_regex', true),
      );
    case 'WordPiece':
      return new WordPieceDecoder(r.string('prefix', '##'), r.bool('cleanup', true));
    case 'Metaspace': {
      const scheme = r.has('prepend_scheme')
        ? r.string('prepend_scheme')
        : r.bool('add_prefix_space', true)
          ? 'always'
          : 'never';
      if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never')
        return r.fail('bad "prepend_scheme"');
      return new MetaspaceDecoder(r.string('replacement', '\u2581'), scheme, r.bool('split', true));
    }
    case 'BPEDecoder':
      return new BPEDecoder(r.string('suffix', '</w>'));
    case 'Replace':
      return new ReplaceDecoder(r.pattern('pattern'), r.string('content'));
    case 'Fuse':
      return new FuseDecoder();
    case 'Strip':
      return new StripDecoder(r.string('content'), r.number('start', 0), r.number('stop', 0));
    case 'ByteFallback':
      return new ByteFallbackDecoder();
    case 'Sequence':
      return new DecoderSequence(
        r.array('decoders').map((d, i) => decoderFromJSON(d, file, `${path}.decoders[${i}]`)),
      );
    default:
      return r.fail(
        `unsupported decoder type "${type}" (supported: ByteLevel, WordPiece, Metaspace, BPEDecoder, Replace, Fuse, Strip, ByteFallback, Sequence)`,
      );
  }
}
