// Decoding for Seq2Seq: greedy search (a batch of sources at once) and beam search (one source),
// both scoring a translation by the model's own log-probability, sum_i log p(y_i | y_<i, x), and
// both recording each step's attention row for the heat map. A translation ends at eosId (kept as
// its last token) or after maxLength tokens.
import * as k from '@kiln/core';
import type { EncoderMemory, Seq2Seq } from './model.js';

export interface Seq2SeqSearchOptions {
  /** The most tokens to generate, eosId included (default 50). */
  maxLength?: number;
}

export interface Seq2SeqBeamSearchOptions extends Seq2SeqSearchOptions {
  /** Beams kept per step (default 4). */
  numBeams?: number;
}

export interface Seq2SeqTranslation {
  /** Generated target ids; bosId not included, eosId last when the translation ended. */
  tokens: number[];
  /** [tokens.length, source length]: row i is the attention that produced tokens[i]. */
  attention: number[][];
  /** The summed log-probability of tokens under the model. */
  score: number;
}

function checkMaxLength(op: string, maxLength: number): void {
  if (!Number.isInteger(maxLength) || maxLength < 1)
    throw new RangeError(`${op}: maxLength must be a positive integer (got ${maxLength})`);
}

/** One decoder step for n rows: log-probabilities [n, V] and attention [n, S] on the host, and the new state. */
async function step(
  model: Seq2Seq,
  tokens: readonly number[],
  hidden: k.Tensor,
  memory: EncoderMemory,
): Promise<{ logp: Float32Array; attention: Float32Array; hidden: k.Tensor }> {
  const [logp, attention, next] = k.noGrad(() =>
    k.tidy(() => {
      const ids = k.tensor([...tokens], { dtype: 'int32', device: model.device }).reshape(tokens.length, 1);
      const [logits, weights, h] = model.decoder.forward(ids, hidden, memory);
      return [logits.squeeze(1).logSoftmax(-1), weights.squeeze(1), h];
    }),
  );
  const out = {
    logp: (await logp.data()) as Float32Array,
    attention: (await attention.data()) as Float32Array,
    hidden: next,
  };
  k.dispose([logp, attention]);
  return out;
}

function argmax(values: Float32Array, start: number, end: number): number {
  let best = start;
  for (let i = start + 1; i < end; i++) if (values[i] > values[best]) best = i;
  return best - start;
}

/** The encoder run without gradients, its tensors kept until `release` is called. */
function encodeForSearch(model: Seq2Seq, srcIds: k.Tensor, srcMask: k.Tensor | null) {
  const { memory, hidden } = k.noGrad(() => k.tidy(() => model.encode(srcIds, srcMask)));
  const release = () => k.dispose([memory.keys, memory.projectedKeys, memory.mask]);
  return { memory, hidden, release };
}

/**
 * Greedy decoding of right-padded srcIds [B, S]: the most probable token at each step (the first on
 * ties). Returns one translation per row, its attention rows trimmed to the row's real source length.
 */
export async function greedySearch(
  model: Seq2Seq,
  srcIds: k.Tensor,
  options: Seq2SeqSearchOptions & { srcMask?: k.Tensor | null } = {},
): Promise<Seq2SeqTranslation[]> {
  const maxLength = options.maxLength ?? 50;
  checkMaxLength('greedySearch', maxLength);
  const { bosId, eosId, tgtVocabSize: vocab } = model.config;
  const { memory, hidden: h0, release } = encodeForSearch(model, srcIds, options.srcMask ?? null);
  const [batch, srcLen] = srcIds.shape;
  const lengthsTensor = k.tidy(() => memory.mask.to('int32').sum(1));
  const lengths = Array.from((await lengthsTensor.data()) as Int32Array);
  lengthsTensor.dispose();
  const results: Seq2SeqTranslation[] = Array.from({ length: batch }, () => ({
    tokens: [],
    attention: [],
    score: 0,
  }));
  const done = new Array<boolean>(batch).fill(false);
  let inputs = new Array<number>(batch).fill(bosId);
  let hidden = h0;
  for (let t = 0; t < maxLength && done.includes(false); t++) {
    const out = await step(model, inputs, hidden, memory);
    hidden.dispose();
    hidden = out.hidden;
    inputs = inputs.map((_, r) => {
      if (done[r]) return eosId;
      const next = argmax(out.logp, r * vocab, (r + 1) * vocab);
      const res = results[r];
      res.tokens.push(next);
      res.score += out.logp[r * vocab + next];
      res.attention.push(Array.from(out.attention.subarray(r * srcLen, r * srcLen + lengths[r])));
      if (next === eosId) done[r] = true;
      return next;
    });
  }
  hidden.dispose();
  release();
  return results;
}

/** A hypothesis of beam search, live or finished: a translation so far. */
type Beam = Seq2SeqTranslation;

/**
 * Beam search over one source srcIds [1, S] (no padding). Each step extends every live beam by
 * every token, keeps the numBeams best extensions by summed log-probability (ties: the larger
 * step log-probability, then the earlier beam, then the smaller id), and sets aside those ending in
 * eosId as finished. With one beam this is exactly greedy search. A live beam is dropped once its
 * score is below the best finished one: log-probabilities are <= 0, so it could only fall further.
 *
 * Beam search is not monotone in the beam width: the greedy prefix can fall out of the beam and
 * every survivor end worse. For numBeams > 1 the greedy translation is therefore decoded first and
 * counted among the finished hypotheses, so a wider beam never returns a lower-scoring translation
 * than greedy (and greedy's score prunes the search from the start).
 */
export async function beamSearch(
  model: Seq2Seq,
  srcIds: k.Tensor,
  options: Seq2SeqBeamSearchOptions = {},
): Promise<Seq2SeqTranslation> {
  const maxLength = options.maxLength ?? 50;
  const numBeams = options.numBeams ?? 4;
  checkMaxLength('beamSearch', maxLength);
  if (!Number.isInteger(numBeams) || numBeams < 1)
    throw new RangeError(`beamSearch: numBeams must be a positive integer (got ${numBeams})`);
  if (srcIds.ndim !== 2 || srcIds.shape[0] !== 1)
    throw new Error(
      `beamSearch: expected one source [1, S], got ${srcIds.dtype} [${srcIds.shape.join(', ')}]`,
    );
  const { bosId, eosId, tgtVocabSize: vocab } = model.config;
  const finished: Beam[] = numBeams > 1 ? await greedySearch(model, srcIds, { maxLength }) : [];
  const { memory, hidden: h0, release } = encodeForSearch(model, srcIds, null);
  const [, srcLen, hiddenSize] = memory.keys.shape;
  let beams: Beam[] = [{ tokens: [], attention: [], score: 0 }];
  let hidden = h0;
  const best = () => Math.max(...finished.map((b) => b.score));
  for (let t = 0; t < maxLength && beams.length > 0; t++) {
    const n = beams.length;
    const expanded: EncoderMemory = {
      keys: memory.keys.expand(n, srcLen, hiddenSize),
      projectedKeys: memory.projectedKeys.expand(n, srcLen, hiddenSize),
      mask: memory.mask.expand(n, srcLen),
    };
    const out = await step(
      model,
      beams.map((b) => b.tokens.at(-1) ?? bosId),
      hidden,
      expanded,
    );
    k.dispose([expanded.keys, expanded.projectedKeys, expanded.mask]);
    hidden.dispose();
    // The best numBeams extensions overall are among each beam's numBeams best tokens.
    const candidates: { beam: number; token: number; logp: number; score: number }[] = [];
    beams.forEach((b, i) => {
      const row = out.logp.subarray(i * vocab, (i + 1) * vocab);
      const order = Array.from(row.keys()).sort((x, y) => row[y] - row[x] || x - y);
      for (const token of order.slice(0, numBeams))
        candidates.push({ beam: i, token, logp: row[token], score: b.score + row[token] });
    });
    candidates.sort((x, y) => y.score - x.score || y.logp - x.logp || x.beam - y.beam || x.token - y.token);
    const next: Beam[] = [];
    const sources: number[] = [];
    for (const c of candidates.slice(0, numBeams)) {
      const parent = beams[c.beam];
      const beam: Beam = {
        tokens: [...parent.tokens, c.token],
        attention: [
          ...parent.attention,
          Array.from(out.attention.subarray(c.beam * srcLen, (c.beam + 1) * srcLen)),
        ],
        score: c.score,
      };
      if (c.token === eosId) finished.push(beam);
      else {
        next.push(beam);
        sources.push(c.beam);
      }
    }
    const keep = next.map((b, i) => [b, sources[i]] as const).filter(([b]) => !(b.score < best()));
    beams = keep.map(([b]) => b);
    const index = k.tensor(
      keep.map(([, s]) => s),
      { dtype: 'int32', device: model.device },
    );
    hidden = beams.length > 0 ? out.hidden.indexSelect(1, index) : out.hidden;
    if (beams.length > 0) k.dispose([out.hidden, index]);
    else index.dispose();
  }
  hidden.dispose();
  release();
  // Beams still live at maxLength compete as they are, like greedy's unfinished translations.
  return [...finished, ...beams].reduce((a, b) => (b.score > a.score ? b : a));
}
