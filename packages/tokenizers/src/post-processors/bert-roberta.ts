import { Encoding } from '../encoding/encoding.js';
import type { JsonObject } from '../io/json.js';
import { trimByteLevelOffsets } from './byte-level.js';
import { defaultProcess, type PostProcessor } from './post-processor.js';

/** HF `BertProcessing`: `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]`, B with type id 1. */
export class BertProcessing implements PostProcessor {
  constructor(
    readonly sep: [string, number] = ['[SEP]', 102],
    readonly cls: [string, number] = ['[CLS]', 101],
  ) {}

  addedTokens(isPair: boolean): number {
    return isPair ? 3 : 2;
  }

  process(encoding: Encoding, pair: Encoding | null, addSpecialTokens: boolean): Encoding {
    if (!addSpecialTokens) return defaultProcess(encoding, pair);
    const [sepTok, sepId] = this.sep;
    const [clsTok, clsId] = this.cls;
    const first = (e: Encoding): Encoding =>
      Encoding.concat([
        Encoding.special([clsId], [clsTok], 0),
        e.withSequence(0, 0),
        Encoding.special([sepId], [sepTok], 0),
      ]);
    const second = (e: Encoding): Encoding =>
      Encoding.concat([e.withSequence(1, 1), Encoding.special([sepId], [sepTok], 1)]);
    return joinWithOverflow(encoding, pair, first, second);
  }

  toJSON(): JsonObject {
    return { type: 'BertProcessing', sep: [...this.sep], cls: [...this.cls] };
  }
}

/** HF `RobertaProcessing`: `<s> A </s>` and `<s> A </s></s> B </s>`, all type ids 0. */
export class RobertaProcessing implements PostProcessor {
  constructor(
    readonly sep: [string, number] = ['</s>', 2],
    readonly cls: [string, number] = ['<s>', 0],
    readonly trimOffsets = true,
    readonly addPrefixSpace = true,
  ) {}

  addedTokens(isPair: boolean): number {
    return isPair ? 4 : 2;
  }

  process(encoding: Encoding, pair: Encoding | null, addSpecialTokens: boolean): Encoding {
    if (this.trimOffsets) {
      encoding = trimByteLevelOffsets(encoding, this.addPrefixSpace);
      if (pair !== null) pair = trimByteLevelOffsets(pair, this.addPrefixSpace);
    }
    // RoBERTa has no segment embeddings: every type id is 0.
    encoding = encoding.withSequence(0, 0);
    if (pair !== null) pair = pair.withSequence(0, 1);
    if (!addSpecialTokens) return defaultProcessKeepTypes(encoding, pair);
    const [sepTok, sepId] = this.sep;
    const [clsTok, clsId] = this.cls;
    const first = (e: Encoding): Encoding =>
      Encoding.concat([Encoding.special([clsId], [clsTok], 0), e, Encoding.special([sepId], [sepTok], 0)]);
    const second = (e: Encoding): Encoding =>
      Encoding.concat([Encoding.special([sepId], [sepTok], 0), e, Encoding.special([sepId], [sepTok], 0)]);
    return joinWithOverflow(encoding, pair, first, second);
  }

  toJSON(): JsonObject {
    return {
      type: 'RobertaProcessing',
      sep: [...this.sep],
      cls: [...this.cls],
      trim_offsets: this.trimOffsets,
      add_prefix_space: this.addPrefixSpace,
    };
  }
}

function defaultProcessKeepTypes(a: Encoding, b: Encoding | null): Encoding {
  return b === null ? a : Encoding.concat([a, b], [...a.overflowing, ...b.overflowing]);
}

/** Lays out the first and second sequence, doing the same for overflowing windows. */
function joinWithOverflow(
  a: Encoding,
  b: Encoding | null,
  first: (e: Encoding) => Encoding,
  second: (e: Encoding) => Encoding,
): Encoding {
  const join = (x: Encoding, y: Encoding | null): Encoding =>
    y === null ? first(x) : Encoding.concat([first(x), second(y)]);
  const main = join(a, b);
  const overflowing = [
    ...a.overflowing.map((o) => join(o, b)),
    ...(b?.overflowing ?? []).map((o) => join(a, o)),
  ];
  return overflowing.length ? new Encoding({ ...main.fields(), overflowing }) : main;
}

export class PostProcessorSequence implements PostProcessor {
  constructor(readonly processors: readonly PostProcessor[]) {}

  addedTokens(isPair: boolean): number {
    return this.processors.reduce((n, p) => n + p.addedTokens(isPair), 0);
  }

  process(encoding: Encoding, pair: Encoding | null, addSpecialTokens: boolean): Encoding {
    // As in HF, each processor sees the result of the previous one as a single sequence.
    let out = encoding;
    let second = pair;
    for (const p of this.processors) {
      out = p.process(out, second, addSpecialTokens);
      second = null;
    }
    return out;
  }

  toJSON(): JsonObject {
    return { type: 'Sequence', processors: this.processors.map((p) => p.toJSON()) };
  }
}
