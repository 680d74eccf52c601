// Autoregressive generation for causal LMs (Hugging Face's generate for decoder-only models):
// greedy or sampled decoding with a key/value cache, left-padded batches, stop tokens, and a
// token stream. Positions follow the attention mask (HF: cumsum(mask) - 1), so a left-padded row
// sees exactly the positions it would see alone.
import * as k from '@kiln/core';
import { beamSearch } from './beam-search.js';
import { applyRepetitionPenalty, topKFilter, topPFilter } from './logits.js';

/** The cache a causal LM returns: one key and value tensor per layer. */
export interface KeyValueCache {
  key: k.Tensor;
  value: k.Tensor;
}

/** What generate needs from a model: a forward with a cache (GPT satisfies it). */
export interface CausalLM {
  forward(
    inputIds: k.Tensor,
    options: {
      attentionMask?: k.Tensor | null;
      positionIds?: k.Tensor | null;
      pastKeyValues?: readonly KeyValueCache[] | null;
      useCache?: boolean;
    },
  ): { logits: k.Tensor; pastKeyValues?: KeyValueCache[] };
}

export interface GenerateOptions {
  /** Tokens to add to each row (default 20). */
  maxNewTokens?: number;
  /** Sample from the (warped) distribution instead of taking the argmax (default false). */
  doSample?: boolean;
  /** Divides the scores before sampling (default 1). */
  temperature?: number;
  /** Sample among the k most likely tokens (default 50 as in HF; 0 disables). */
  topK?: number;
  /** Nucleus sampling mass (default 1: off). */
  topP?: number;
  /** > 1 discourages tokens already in the row (default 1: off). */
  repetitionPenalty?: number;
  /** Stop token(s): a row that emits one is finished and padded with padTokenId afterwards. */
  eosTokenId?: number | readonly number[] | null;
  /** Filler for finished rows (default: the first eosTokenId, else 0). */
  padTokenId?: number | null;
  /** [B, T]: 1 for tokens, 0 for (left) padding. Default all ones. */
  attentionMask?: k.Tensor | null;
  /** Seeds the global generator first (k.manualSeed), so sampling is reproducible. */
  seed?: number;
  /** Reuse keys and values of earlier steps (default true); false recomputes the whole sequence. */
  useCache?: boolean;
  /** > 1 runs beam search (HF's, early_stopping=False); not combined with doSample (default 1). */
  numBeams?: number;
  /** Beam search ranks a finished sequence by sum log p / generatedLength ** lengthPenalty (default 1). */
  lengthPenalty?: number;
}

interface Settings {
  maxNewTokens: number;
  doSample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  eos: number[];
  pad: number;
  useCache: boolean;
  numBeams: number;
  lengthPenalty: number;
}

function settings(o: GenerateOptions): Settings {
  const eos = o.eosTokenId === undefined || o.eosTokenId === null ? [] : [o.eosTokenId].flat();
  const s: Settings = {
    maxNewTokens: o.maxNewTokens ?? 20,
    doSample: o.doSample ?? false,
    temperature: o.temperature ?? 1,
    topK: o.topK ?? 50,
    topP: o.topP ?? 1,
    repetitionPenalty: o.repetitionPenalty ?? 1,
    eos,
    pad: o.padTokenId ?? eos[0] ?? 0,
    useCache: o.useCache ?? true,
    numBeams: o.numBeams ?? 1,
    lengthPenalty: o.lengthPenalty ?? 1,
  };
  if (!Number.isInteger(s.maxNewTokens) || s.maxNewTokens < 0)
    throw new RangeError(`generate: maxNewTokens must be a non-negative integer (got ${s.maxNewTokens})`);
  if (!(s.temperature > 0)) throw new RangeError(`generate: temperature must be > 0 (got ${s.temperature})`);
  if (!Number.isInteger(s.topK) || s.topK < 0)
    throw new RangeError(`generate: topK must be a non-negative integer (got ${s.topK})`);
  if (!(s.topP > 0 && s.topP <= 1)) throw new RangeError(`generate: topP must be in (0, 1] (got ${s.topP})`);
  if (!(s.repetitionPenalty > 0))
    throw new RangeError(`generate: repetitionPenalty must be > 0 (got ${s.repetitionPenalty})`);
  if (!Number.isInteger(s.numBeams) || s.numBeams < 1)
    throw new RangeError(`generate: numBeams must be a positive integer (got ${s.numBeams})`);
  if (s.numBeams > 1 && s.doSample)
    throw new Error(
      'generate: beam sampling (numBeams > 1 with doSample) is not implemented; use one of them',
    );
  return s;
}

/** Next tokens [B] from the last position's scores [B, V] and the tokens so far [B, S]. */
function chooseNext(scores: k.Tensor, ids: k.Tensor, s: Settings): k.Tensor {
  let x = scores.to('float32');
  if (s.repetitionPenalty !== 1) x = applyRepetitionPenalty(x, ids, s.repetitionPenalty);
  if (!s.doSample) return x.argmax(-1).to('int32');
  if (s.temperature !== 1) x = x.div(s.temperature);
  if (s.topK > 0) x = topKFilter(x, s.topK);
  if (s.topP < 1) x = topPFilter(x, s.topP);
  return k.multinomial(x.softmax(-1), 1).reshape(-1).to('int32');
}

function checkInputs(inputIds: k.Tensor, options: GenerateOptions): Settings {
  const s = settings(options);
  if (inputIds.ndim !== 2 || k.isFloating(inputIds.dtype) || inputIds.dtype === 'bool')
    throw new Error(
      `generate: expected integer inputIds [batch, seq], got ${inputIds.dtype} [${inputIds.shape.join(', ')}]`,
    );
  const [b, t] = inputIds.shape;
  const mask = options.attentionMask ?? null;
  if (mask && (mask.ndim !== 2 || mask.shape[0] !== b || mask.shape[1] !== t))
    throw new Error(
      `generate: attentionMask must be [${b}, ${t}] like inputIds, got [${mask.shape.join(', ')}]`,
    );
  if (options.seed !== undefined) k.manualSeed(options.seed);
  return s;
}

/** HF's position ids for a padded batch: cumsum(mask) - 1, and 1 at padding. */
function positionsFromMask(mask: k.Tensor): k.Tensor {
  const pos = mask.cumsum(-1).sub(1);
  return pos.maskedFill(mask.eq(0), 1).to('int32');
}

export interface GenerationStep {
  /** The token chosen for each row at this step (padTokenId for rows already finished). */
  tokens: number[];
  /** Which rows had finished before this step. */
  finished: boolean[];
}

/**
 * Generates step by step, yielding each step's tokens. `generate` collects them; iterating this
 * directly streams tokens as they are produced. Stops after maxNewTokens or when every row has
 * emitted a stop token.
 */
export async function* streamGenerate(
  model: CausalLM,
  inputIds: k.Tensor,
  options: GenerateOptions = {},
): AsyncGenerator<GenerationStep, void, undefined> {
  const s = checkInputs(inputIds, options);
  if (s.numBeams > 1)
    throw new Error(
      'streamGenerate: beam search cannot stream (the best beam is known only at the end); use generate',
    );
  const [b, t] = inputIds.shape;
  const device = inputIds.device;
  const givenMask = options.attentionMask ?? null;

  // A copy, never inputIds itself: ids is replaced (and disposed) every step.
  let ids = k.keep(inputIds.dtype === 'int32' ? inputIds.clone() : inputIds.to('int32'));
  let mask = k.keep(givenMask ? givenMask.ne(0).to('int32') : k.ones([b, t], { dtype: 'int32', device }));
  let past: KeyValueCache[] | null = null;
  const finished = new Array<boolean>(b).fill(false);
  const disposeCache = () => {
    if (past) for (const layer of past) k.dispose([layer.key, layer.value]);
  };
  try {
    for (let step = 0; step < s.maxNewTokens && finished.some((f) => !f); step++) {
      const fresh = s.useCache && past !== null;
      const result = k.noGrad(() =>
        k.tidy(() => {
          const positions = positionsFromMask(mask);
          const stepIds = fresh ? ids.slice(1, ids.shape[1] - 1) : ids;
          const stepPositions = fresh ? positions.slice(1, positions.shape[1] - 1) : positions;
          const out = model.forward(stepIds, {
            attentionMask: mask,
            positionIds: stepPositions,
            pastKeyValues: fresh ? past : null,
            useCache: s.useCache,
          });
          const last = out.logits.select(1, out.logits.shape[1] - 1);
          let next = chooseNext(last, ids, s);
          const done = k.tensor(finished.map(Number), { dtype: 'int32', device });
          // HF: rows already finished get the pad token.
          next = k.where(done.ne(0), s.pad, next).to('int32');
          return { next, cache: out.pastKeyValues ?? null };
        }),
      );
      disposeCache();
      past = result.cache;
      const tokens = Array.from(await result.next.data(), Number);
      const before = [...finished];
      const [nextIds, nextMask] = k.tidy(() => [
        k.cat([ids, result.next.unsqueeze(1)], 1),
        k.cat([mask, k.ones([b, 1], { dtype: 'int32', device })], 1),
      ]);
      result.next.dispose();
      ids.dispose();
      mask.dispose();
      ids = k.keep(nextIds);
      mask = k.keep(nextMask);
      tokens.forEach((tok, i) => {
        if (s.eos.includes(tok)) finished[i] = true;
      });
      yield { tokens, finished: before };
    }
  } finally {
    disposeCache();
    ids.dispose();
    mask.dispose();
  }
}

/**
 * Continues every row of inputIds [B, T] and returns [B, T + new] (int32) as Hugging Face's
 * generate does: the prompt followed by the generated tokens, finished rows padded with padTokenId.
 */
export async function generate(
  model: CausalLM,
  inputIds: k.Tensor,
  options: GenerateOptions = {},
): Promise<k.Tensor> {
  if ((options.numBeams ?? 1) > 1) {
    const s = checkInputs(inputIds, options);
    return beamSearch(model, inputIds, options.attentionMask ?? null, s);
  }
  const rows: number[][] = Array.from({ length: inputIds.shape[0] }, () => []);
  for await (const step of streamGenerate(model, inputIds, options)) {
    for (const [i, tok] of step.tokens.entries()) rows[i].push(tok);
  }
  return k.tidy(() => {
    const generated = k.tensor(rows, { dtype: 'int32', device: inputIds.device });
    return k.cat([inputIds.to('int32'), generated.reshape(inputIds.shape[0], rows[0]?.length ?? 0)], 1);
  });
}
