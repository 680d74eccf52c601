// Beam search as Hugging Face's generate runs it for decoder-only models (BeamSearchScorer with
// early_stopping=False): each step scores every beam's continuations by log-softmax plus the beam's
// running sum, takes the best 2 * numBeams of [numBeams * vocab], turns candidates ending in a stop
// token into finished hypotheses (only from the top numBeams ranks) and keeps the first numBeams
// others as the new beams. A hypothesis scores sum / generatedLength ** lengthPenalty; a prompt is
// done once numBeams hypotheses exist and no running beam can beat the worst of them.
import * as k from '@kiln/core';
import { applyRepetitionPenalty } from './logits.js';

/** The part of a causal LM beam search needs (see generate.ts's CausalLM). */
interface CacheLayer {
  key: k.Tensor;
  value: k.Tensor;
}
interface BeamModel {
  forward(
    inputIds: k.Tensor,
    options: {
      attentionMask?: k.Tensor | null;
      positionIds?: k.Tensor | null;
      pastKeyValues?: readonly CacheLayer[] | null;
      useCache?: boolean;
    },
  ): { logits: k.Tensor; pastKeyValues?: CacheLayer[] };
}

export interface BeamSearchSettings {
  numBeams: number;
  maxNewTokens: number;
  lengthPenalty: number;
  repetitionPenalty: number;
  eos: number[];
  pad: number;
  useCache: boolean;
}

interface Hypothesis {
  score: number;
  tokens: number[];
}

/** HF's BeamHypotheses: the numBeams best finished sequences of one prompt. */
class Hypotheses {
  readonly list: Hypothesis[] = [];
  constructor(
    private readonly numBeams: number,
    private readonly lengthPenalty: number,
  ) {}

  get worst(): number {
    return Math.min(...this.list.map((h) => h.score));
  }

  add(tokens: number[], sumLogProbs: number, generatedLength: number): void {
    const score = sumLogProbs / generatedLength ** this.lengthPenalty;
    if (this.list.length < this.numBeams || score > this.worst) {
      this.list.push({ score, tokens });
      if (this.list.length > this.numBeams) {
        const worstAt = this.list.reduce((w, h, i) => (h.score < this.list[w].score ? i : w), 0);
        this.list.splice(worstAt, 1);
      }
    }
  }

  /** early_stopping=False: done when the best running beam cannot beat the worst hypothesis. */
  isDone(bestRunning: number, generatedLength: number): boolean {
    if (this.list.length < this.numBeams) return false;
    return this.worst >= bestRunning / generatedLength ** this.lengthPenalty;
  }

  best(): Hypothesis {
    return this.list.reduce((b, h) => (h.score > b.score ? h : b));
  }
}

function positionsFromMask(mask: k.Tensor): k.Tensor {
  return mask.cumsum(-1).sub(1).maskedFill(mask.eq(0), 1).to('int32');
}

/** Returns [B, T + new]: each prompt's best hypothesis, shorter ones ended by eos then padded. */
export async function beamSearch(
  model: BeamModel,
  inputIds: k.Tensor,
  attentionMask: k.Tensor | null,
  s: BeamSearchSettings,
): Promise<k.Tensor> {
  const [b, t] = inputIds.shape;
  const n = s.numBeams;
  const device = inputIds.device;
  const rowsOf = k.tensor(
    Array.from({ length: b * n }, (_, i) => Math.floor(i / n)),
    { dtype: 'int32', device },
  );
  let ids = k.keep(k.tidy(() => inputIds.to('int32').indexSelect(0, rowsOf)));
  let mask = k.keep(
    k.tidy(() =>
      (attentionMask
        ? attentionMask.ne(0).to('int32')
        : k.ones([b, t], { dtype: 'int32', device })
      ).indexSelect(0, rowsOf),
    ),
  );
  rowsOf.dispose();
  // Only the first beam of each prompt is live at the start, so the first step does not pick the
  // same continuation numBeams times.
  let beamScores: number[] = Array.from({ length: b * n }, (_, i) => (i % n === 0 ? 0 : -1e9));
  const hyps = Array.from({ length: b }, () => new Hypotheses(n, s.lengthPenalty));
  const done = new Array<boolean>(b).fill(false);
  let past: CacheLayer[] | null = null;
  const disposeCache = () => {
    if (past) for (const layer of past) k.dispose([layer.key, layer.value]);
    past = null;
  };

  try {
    let generated = 0;
    for (; generated < s.maxNewTokens && done.some((d) => !d); generated++) {
      const fresh = s.useCache && past !== null;
      const step = k.noGrad(() =>
        k.tidy(() => {
          const positions = positionsFromMask(mask);
          const last = ids.shape[1] - 1;
          const out = model.forward(fresh ? ids.slice(1, last) : ids, {
            attentionMask: mask,
            positionIds: fresh ? positions.slice(1, last) : positions,
            pastKeyValues: fresh ? past : null,
            useCache: s.useCache,
          });
          let scores = out.logits
            .select(1, out.logits.shape[1] - 1)
            .to('float32')
            .logSoftmax(-1);
          if (s.repetitionPenalty !== 1) scores = applyRepetitionPenalty(scores, ids, s.repetitionPenalty);
          const vocab = scores.shape[1];
          const running = k.tensor(beamScores, { dtype: 'float32', device }).unsqueeze(1);
          const top = scores
            .add(running)
            .reshape(b, n * vocab)
            .topk(2 * n, -1);
          return { values: top.values, indices: top.indices, vocab, cache: out.pastKeyValues ?? null };
        }),
      );
      const values = Array.from(await step.values.data(), Number);
      const indices = Array.from(await step.indices.data(), Number);
      k.dispose([step.values, step.indices]);
      const rows = (await ids.data()) as Int32Array;
      const width = ids.shape[1];
      const nextScores: number[] = [];
      const nextTokens: number[] = [];
      const nextBeams: number[] = [];
      for (let p = 0; p < b; p++) {
        if (done[p]) {
          for (let i = 0; i < n; i++) {
            nextScores.push(0);
            nextTokens.push(s.pad);
            nextBeams.push(p * n);
          }
          continue;
        }
        let kept = 0;
        for (let rank = 0; rank < 2 * n && kept < n; rank++) {
          const flat = indices[p * 2 * n + rank];
          const score = values[p * 2 * n + rank];
          const beam = p * n + Math.floor(flat / step.vocab);
          const token = flat % step.vocab;
          if (s.eos.includes(token)) {
            if (rank >= n) continue;
            hyps[p].add(Array.from(rows.subarray(beam * width, (beam + 1) * width)), score, generated + 1);
          } else {
            nextScores.push(score);
            nextTokens.push(token);
            nextBeams.push(beam);
            kept++;
          }
        }
        if (kept < n)
          throw new Error(`generate: beam search found fewer than ${n} continuations without a stop token`);
        done[p] = hyps[p].isDone(Math.max(...values.slice(p * 2 * n, p * 2 * n + 2 * n)), generated + 1);
      }
      beamScores = nextScores;
      const newCache = step.cache;
      const [nextIds, nextMask, reordered] = k.tidy(() => {
        const order = k.tensor(nextBeams, { dtype: 'int32', device });
        const tokens = k.tensor(nextTokens, { dtype: 'int32', device }).unsqueeze(1);
        return [
          k.cat([ids.indexSelect(0, order), tokens], 1),
          k.cat([mask.indexSelect(0, order), k.ones([b * n, 1], { dtype: 'int32', device })], 1),
          newCache?.map((l) => ({
            key: l.key.indexSelect(0, order),
            value: l.value.indexSelect(0, order),
          })) ?? null,
        ] as const;
      });
      if (newCache) for (const l of newCache) k.dispose([l.key, l.value]);
      disposeCache();
      past = reordered;
      ids.dispose();
      mask.dispose();
      ids = k.keep(nextIds);
      mask = k.keep(nextMask);
    }

    // Prompts still running: every beam becomes a hypothesis.
    const rows = (await ids.data()) as Int32Array;
    const width = ids.shape[1];
    for (let p = 0; p < b; p++) {
      if (done[p]) continue;
      for (let i = 0; i < n; i++) {
        const beam = p * n + i;
        hyps[p].add(Array.from(rows.subarray(beam * width, (beam + 1) * width)), beamScores[beam], generated);
      }
    }
    const best = hyps.map((h) => h.best().tokens);
    const longest = Math.max(...best.map((r) => r.length));
    const outLength = Math.min(longest + 1, t + s.maxNewTokens);
    const padded = best.map((r) => {
      const row = [...r];
      if (row.length < outLength) row.push(s.eos[0] ?? s.pad);
      while (row.length < outLength) row.push(s.pad);
      return row;
    });
    return k.tensor(padded, { dtype: 'int32', device });
  } finally {
    disposeCache();
    ids.dispose();
    mask.dispose();
  }
}
