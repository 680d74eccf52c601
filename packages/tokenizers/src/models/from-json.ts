import { TokenizerFileError } from '../io/errors.js';
import { JsonReader, type JsonValue } from '../io/json.js';
import { BPEModel, parseMerge } from './bpe.js';
import type { Model } from './model.js';
import { UnigramModel } from './unigram.js';
import { WordLevelModel } from './word-level.js';
import { WordPieceModel } from './wordpiece.js';

/** A vocabulary object `{token: id}` with every id checked. */
export function vocabFromJSON(r: JsonReader, key: string): Map<string, number> {
  const obj = r.object(key);
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(obj.value)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new TokenizerFileError(
        r.file,
        `${obj.path}: id of ${JSON.stringify(token)} must be a non-negative integer, got ${JSON.stringify(id)}`,
      );
    }
    vocab.set(token, id);
  }
  return vocab;
}

/** Builds a model from its tokenizer.json section. */
export function modelFromJSON(value: JsonValue, file: string, path = 'model'): Model {
  const r = JsonReader.of(file, path, value);
  // Some old files omit the type; HF then guesses from the fields, as we do.
  const type = r.has('type')
    ? r.type()
    : r.has('merges')
      ? 'BPE'
      : r.has('continuing_subword_prefix')
        ? 'WordPiece'
        : 'WordLevel';
  switch (type) {
    case 'BPE': {
      const raw = r.array('merges');
      const merges = raw.map((m, i) => parseMerge(m, file, `${path}.merges[${i}]`));
      try {
        return new BPEModel(vocabFromJSON(r, 'vocab'), merges, {
          dropout: r.optNumber('dropout'),
          unkToken: r.optString('unk_token'),
          continuingSubwordPrefix: r.optString('continuing_subword_prefix'),
          endOfWordSuffix: r.optString('end_of_word_suffix'),
          fuseUnk: r.bool('fuse_unk', false),
          byteFallback: r.bool('byte_fallback', false),
          ignoreMerges: r.bool('ignore_merges', false),
          mergesFormat: raw.length > 0 && typeof raw[0] === 'string' ? 'strings' : 'pairs',
        });
      } catch (err) {
        if (err instanceof TokenizerFileError) throw err;
        throw new TokenizerFileError(file, `${path}: ${(err as Error).message}`);
      }
    }
    case 'WordPiece':
      return new WordPieceModel(vocabFromJSON(r, 'vocab'), {
        unkToken: r.string('unk_token', '[UNK]'),
        continuingSubwordPrefix: r.string('continuing_subword_prefix', '##'),
        maxInputCharsPerWord: r.number('max_input_chars_per_word', 100),
      });
    case 'WordLevel':
      return new WordLevelModel(vocabFromJSON(r, 'vocab'), r.string('unk_token', '<unk>'));
    case 'Unigram': {
      const pieces = r.array('vocab').map((entry, i): [string, number] => {
        if (
          Array.isArray(entry) &&
          entry.length === 2 &&
          typeof entry[0] === 'string' &&
          typeof entry[1] === 'number'
        ) {
          return [entry[0], entry[1]];
        }
        return r.fail(`vocab[${i}] must be a [piece, score] pair`);
      });
      try {
        return new UnigramModel(pieces, r.optNumber('unk_id'), r.bool('byte_fallback', false));
      } catch (err) {
        return r.fail((err as Error).message);
      }
    }
    default:
      return r.fail(`unsupported model type "${type}" (supported: BPE, WordPiece, WordLevel, Unigram)`);
  }
}
