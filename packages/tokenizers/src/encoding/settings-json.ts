import { TokenizerFileError } from '../io/errors.js';
import type { JsonObject, JsonReader } from '../io/json.js';
import type { PaddingParams } from './padding.js';
import type { Direction, TruncationParams, TruncationStrategy } from './truncation.js';

/** The `truncation` and `padding` sections of tokenizer.json, in HF's spelling. */

const STRATEGY_JSON: Record<TruncationStrategy, string> = {
  longest_first: 'LongestFirst',
  only_first: 'OnlyFirst',
  only_second: 'OnlySecond',
};

function directionFromJSON(r: JsonReader, key: string): Direction {
  const d = r.string(key, 'Right');
  if (d === 'Right' || d === 'Left') return d === 'Right' ? 'right' : 'left';
  return r.fail(`"${key}" must be "Left" or "Right"`);
}

export function truncationFromJSON(r: JsonReader): TruncationParams {
  const s = r.string('strategy', 'LongestFirst');
  const strategy = (Object.keys(STRATEGY_JSON) as TruncationStrategy[]).find((k) => STRATEGY_JSON[k] === s);
  if (strategy === undefined) r.fail('"strategy" must be LongestFirst, OnlyFirst or OnlySecond');
  return {
    maxLength: r.number('max_length'),
    strategy,
    direction: directionFromJSON(r, 'direction'),
    stride: r.number('stride', 0),
  };
}

export function truncationToJSON(t: TruncationParams): JsonObject {
  return {
    direction: t.direction === 'right' ? 'Right' : 'Left',
    max_length: t.maxLength,
    strategy: STRATEGY_JSON[t.strategy],
    stride: t.stride,
  };
}

export function paddingFromJSON(r: JsonReader): PaddingParams {
  const s = r.raw('strategy');
  let strategy: PaddingParams['strategy'];
  if (s === 'BatchLongest') strategy = 'longest';
  else if (s !== null && typeof s === 'object' && !Array.isArray(s) && typeof s.Fixed === 'number')
    strategy = s.Fixed;
  else throw new TokenizerFileError(r.file, `${r.path}: "strategy" must be "BatchLongest" or {"Fixed": n}`);
  return {
    strategy,
    direction: directionFromJSON(r, 'direction'),
    padToMultipleOf: r.optNumber('pad_to_multiple_of'),
    padId: r.number('pad_id', 0),
    padTypeId: r.number('pad_type_id', 0),
    padToken: r.string('pad_token', '[PAD]'),
  };
}

export function paddingToJSON(p: PaddingParams): JsonObject {
  return {
    strategy: p.strategy === 'longest' ? 'BatchLongest' : { Fixed: p.strategy },
    direction: p.direction === 'right' ? 'Right' : 'Left',
    pad_to_multiple_of: p.padToMultipleOf,
    pad_id: p.padId,
    pad_type_id: p.padTypeId,
    pad_token: p.padToken,
  };
}
