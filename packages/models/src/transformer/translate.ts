// Decoding for the translation Transformer. The source is encoded once; the decoder is then run as a
// causal LM over BOS + the tokens so far, so greedy decoding and Hugging Face's beam search come
// from generation/ unchanged. There is no incremental (key/value cached) decoder: every step
// recomputes the decoder over the whole prefix, O(T^2) per sentence, which is cheap at translation
// lengths. One teacher-forced pass over the result then gives each translation's log-probability
// under the model and the last decoder layer's cross-attention.
import * as k from '@kiln/core';
import { type CausalLM, generate } from '../generation/generate.js';
import type { EncodedSource, Transformer } from './model.js';

export interface TranslateOptions {
  /** Most tokens to generate, EOS included (default: the model's maxLength - 1). */
  maxLength?: number;
  /** Beam width; 1 is greedy decoding (default 1). */
  numBeams?: number;
  /** Finished translations are ranked by logProb / generatedLength ** lengthPenalty (default 1, as Hugging Face). */
  lengthPenalty?: number;
}

export interface Translation {
  /** The generated target ids, without BOS and EOS. */
  tokens: number[];
  /** Whether decoding ended with EOS (false: cut at maxLength). */
  finished: boolean;
  /** Sum of the model's log-probabilities of the tokens, and of EOS when finished. */
  logProb: number;
  /** logProb / generatedLength ** lengthPenalty (EOS counted): what beam search maximises. */
  score: number;
  /**
   * [tokens.length][source length]: the last decoder layer's cross-attention, averaged over heads,
   * of the step that produced each token, over the source tokens (padding left out).
   */
  attention: number[][];
}

/**
 * The decoder over a fixed encoded source, as the causal LM generate drives (no cache). generate
 * reads the last position's logits only, so the generator head runs there alone: [B, 1, vocab].
 */
function decoderAsCausalLM(model: Transformer, source: EncodedSource): CausalLM {
  return {
    forward: (ids) => {
      const states = model.decoderStates(ids, source);
      return { logits: model.generator.forward(states.slice(1, states.shape[1] - 1)) };
    },
  };
}

/** Rows of ids padded on the right with `pad` to `width` (default the longest), as int32 [B, width]. */
function padRows(
  rows: readonly (readonly number[])[],
  pad: number,
  device: k.Device,
  width = Math.max(...rows.map((r) => r.length)),
): k.Tensor {
  return k.tensor(
    rows.map((r) => [...r, ...new Array<number>(width - r.length).fill(pad)]),
    { dtype: 'int32', device },
  );
}

function settings(model: Transformer, options: TranslateOptions) {
  const c = model.config;
  const maxLength = options.maxLength ?? c.maxLength - 1;
  const numBeams = options.numBeams ?? 1;
  const lengthPenalty = options.lengthPenalty ?? 1;
  if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > c.maxLength - 1)
    throw new RangeError(
      `Transformer.translate: maxLength must be an integer in [1, ${c.maxLength - 1}] (the model's maxLength minus BOS), got ${maxLength}`,
    );
  if (!Number.isInteger(numBeams) || numBeams < 1)
    throw new RangeError(`Transformer.translate: numBeams must be a positive integer (got ${numBeams})`);
  return { maxLength, numBeams, lengthPenalty };
}

/** Translates every row of `src` (padded [B, S] ids, or rows of ids). */
export async function translate(
  model: Transformer,
  src: k.Tensor | readonly (readonly number[])[],
  options: TranslateOptions = {},
): Promise<Translation[]> {
  const c = model.config;
  const s = settings(model, options);
  const device = model.device;
  const srcIds = k.isTensor(src)
    ? k.tidy(() => src.to(device).to('int32'))
    : padRows(src, c.padTokenId, device);
  try {
    if (srcIds.ndim !== 2)
      throw new Error(
        `Transformer.translate: expected source ids [batch, seq], got [${srcIds.shape.join(', ')}]`,
      );
    const srcRows = await rowsOf(srcIds);
    const srcKept = srcRows.map((row) => row.flatMap((id, j) => (id === c.padTokenId ? [] : [j])));
    const empty = srcKept.findIndex((cols) => cols.length === 0);
    if (empty >= 0)
      throw new Error(
        `Transformer.translate: source row ${empty} of [${srcIds.shape.join(', ')}] is all padding`,
      );

    const source = k.noGrad(() => k.tidy(() => model.encode(srcIds)));
    try {
      const generated = await search(model, srcIds, source, s);
      const rows = await rowsOf(generated);
      generated.dispose();
      const parsed = rows.map((row) => {
        const body = row.slice(1);
        const end = body.indexOf(c.eosTokenId);
        return end < 0 ? { tokens: body, finished: false } : { tokens: body.slice(0, end), finished: true };
      });
      return await scoreAndAttend(model, source, parsed, srcKept, s.lengthPenalty);
    } finally {
      k.dispose([source.memory, source.srcPaddingMask]);
    }
  } finally {
    if (srcIds !== src) srcIds.dispose();
  }
}

async function rowsOf(ids: k.Tensor): Promise<number[][]> {
  const flat = Array.from(await ids.data(), Number);
  const [b, w] = ids.shape;
  return Array.from({ length: b }, (_, i) => flat.slice(i * w, (i + 1) * w));
}

/** BOS + the search's tokens for every source row: [B, 1 + steps]. */
async function search(
  model: Transformer,
  srcIds: k.Tensor,
  source: EncodedSource,
  s: { maxLength: number; numBeams: number; lengthPenalty: number },
): Promise<k.Tensor> {
  const c = model.config;
  const b = srcIds.shape[0];
  const bos = k.full([b, 1], c.bosTokenId, { dtype: 'int32', device: model.device });
  // Beam search runs numBeams rows per source (rows p * numBeams + i belong to source p), so the
  // encoded source is repeated the same way; beams are reordered only within their source.
  const beamSource =
    s.numBeams === 1
      ? source
      : k.tidy(() => {
          const order = k.tensor(
            Array.from({ length: b * s.numBeams }, (_, i) => Math.floor(i / s.numBeams)),
            { dtype: 'int32', device: model.device },
          );
          return {
            memory: source.memory.indexSelect(0, order),
            srcPaddingMask: source.srcPaddingMask.indexSelect(0, order),
          };
        });
  try {
    return await generate(decoderAsCausalLM(model, beamSource), bos, {
      maxNewTokens: s.maxLength,
      numBeams: s.numBeams,
      lengthPenalty: s.lengthPenalty,
      eosTokenId: c.eosTokenId,
      padTokenId: c.padTokenId,
      useCache: false,
    });
  } finally {
    bos.dispose();
    if (beamSource !== source) k.dispose([beamSource.memory, beamSource.srcPaddingMask]);
  }
}

/**
 * One teacher-forced decoder pass over BOS + tokens: the log-probability of tokens (+ EOS when
 * finished) and the recorded cross-attention of the step that produced each token.
 */
async function scoreAndAttend(
  model: Transformer,
  source: EncodedSource,
  parsed: { tokens: number[]; finished: boolean }[],
  srcKept: number[][],
  lengthPenalty: number,
): Promise<Translation[]> {
  const c = model.config;
  const device = model.device;
  const inputs = parsed.map((p) => [c.bosTokenId, ...p.tokens]);
  const targets = parsed.map((p) => (p.finished ? [...p.tokens, c.eosTokenId] : p.tokens));
  const [logProbs, weights] = k.noGrad(() =>
    k.tidy(() => {
      const input = padRows(inputs, c.padTokenId, device);
      // An unfinished row's targets are one shorter than its inputs.
      const target = padRows(targets, c.padTokenId, device, input.shape[1]);
      const [logits, recorded] = model.withCrossAttention(() => model.decode(input, source));
      const tokenLogProbs = logits.logSoftmax(-1).gather(2, target.unsqueeze(2)).squeeze(2);
      return [tokenLogProbs, recorded[0]] as const;
    }),
  );
  const lp = Array.from(await logProbs.data(), Number);
  const att = Array.from(await weights.data(), Number);
  const [, t, srcLength] = weights.shape;
  k.dispose([logProbs, weights]);
  return parsed.map((p, row) => {
    const generatedLength = targets[row].length;
    let logProb = 0;
    for (let i = 0; i < generatedLength; i++) logProb += lp[row * t + i];
    const attention = p.tokens.map((_, i) => srcKept[row].map((j) => att[(row * t + i) * srcLength + j]));
    const score = generatedLength === 0 ? 0 : logProb / generatedLength ** lengthPenalty;
    return { tokens: p.tokens, finished: p.finished, logProb, score, attention };
  });
}
