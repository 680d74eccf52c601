// Generation with the PyTorch-fixture GPT: the cache changes nothing, padding changes nothing,
// seeds reproduce samples, stop tokens end rows; logits warpers against plain-JS definitions.
import '@kiln/backend-cpu';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k from '@kiln/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRepetitionPenalty, GPT, streamGenerate, topKFilter, topPFilter } from '../index.js';

const FIXTURES = fileURLToPath(new URL('../../test-fixtures/gpt2/', import.meta.url));
const PROMPTS = [
  [5, 17, 42, 3, 88],
  [7, 7, 60],
  [99, 1, 2, 3, 4, 5, 6],
];

let model: GPT;

beforeAll(async () => {
  model = await GPT.fromPretrained(join(FIXTURES, 'hf'));
});

afterAll(() => model.dispose());

function ids(rows: number[][]): k.Tensor {
  return k.tensor(rows, { dtype: 'int32' });
}

/** Left-pads prompts with `pad`, returning ids and the attention mask. */
function leftPad(prompts: number[][], pad: number): { input: k.Tensor; mask: k.Tensor } {
  const len = Math.max(...prompts.map((p) => p.length));
  const rows = prompts.map((p) => [...new Array<number>(len - p.length).fill(pad), ...p]);
  const mask = prompts.map((p) => [...new Array<number>(len - p.length).fill(0), ...p.map(() => 1)]);
  return { input: ids(rows), mask: ids(mask) };
}

async function generated(prompt: number[], options: Parameters<GPT['generate']>[1]): Promise<number[]> {
  const input = ids([prompt]);
  const out = await model.generate(input, options);
  const row = (out.toArraySync() as number[][])[0];
  k.dispose([input, out]);
  return row;
}

describe('generate', () => {
  it('with the KV cache equals recomputing the whole sequence, token for token (greedy and sampled)', async () => {
    for (const prompt of PROMPTS) {
      const cached = await generated(prompt, { maxNewTokens: 15 });
      const recomputed = await generated(prompt, { maxNewTokens: 15, useCache: false });
      expect(cached).toEqual(recomputed);
      const sampled = await generated(prompt, { maxNewTokens: 15, doSample: true, seed: 3 });
      const sampledAgain = await generated(prompt, {
        maxNewTokens: 15,
        doSample: true,
        seed: 3,
        useCache: false,
      });
      expect(sampled).toEqual(sampledAgain);
    }
  });

  it('the cached forward gives the logits of the full forward at every position', () => {
    const full = ids([PROMPTS[2]]);
    k.noGrad(() => {
      const reference = model.forward(full).logits;
      let past = model.forward(full.slice(1, 0, 3), { useCache: true }).pastKeyValues!;
      let maxDiff = 0;
      for (let t = 3; t < PROMPTS[2].length; t++) {
        const out = model.forward(full.slice(1, t, t + 1), { pastKeyValues: past, useCache: true });
        const diff = out.logits
          .sub(reference.slice(1, t, t + 1))
          .abs()
          .max()
          .itemSync();
        maxDiff = Math.max(maxDiff, diff);
        past = out.pastKeyValues!;
      }
      expect(maxDiff).toBeLessThan(1e-5);
    });
  });

  it('on a left-padded batch equals generating each prompt alone', async () => {
    const alone = [];
    for (const prompt of PROMPTS)
      alone.push((await generated(prompt, { maxNewTokens: 10 })).slice(prompt.length));
    const { input, mask } = leftPad(PROMPTS, 0);
    const out = await model.generate(input, { maxNewTokens: 10, attentionMask: mask });
    const rows = out.toArraySync() as number[][];
    expect(rows.map((r) => r.slice(input.shape[1]))).toEqual(alone);
    expect(out.shape).toEqual([3, input.shape[1] + 10]);
    k.dispose([input, mask, out]);
  });

  it('reproduces samples from a seed, and different seeds give different samples', async () => {
    const options = { maxNewTokens: 12, doSample: true, temperature: 1.5, topK: 0 };
    const a = await generated(PROMPTS[0], { ...options, seed: 11 });
    const b = await generated(PROMPTS[0], { ...options, seed: 11 });
    const c = await generated(PROMPTS[0], { ...options, seed: 12 });
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it('samples from softmax(logits / temperature) restricted to the top k (empirical frequencies of 4000 rows)', async () => {
    const rows = 4000;
    const temperature = 0.7;
    const topK = 5;
    const prompt = ids([PROMPTS[0]]);
    const logits = k.tidy(() =>
      Array.from(
        k
          .noGrad(() => model.forward(prompt).logits)
          .select(1, 4)
          .dataSync() as Float32Array,
      ),
    );
    const top = [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, topK);
    const z = top.reduce((acc, i) => acc + Math.exp(logits[i] / temperature), 0);
    const batch = ids(new Array(rows).fill(PROMPTS[0]));
    const out = await model.generate(batch, { maxNewTokens: 1, doSample: true, temperature, topK, seed: 42 });
    const drawn = (out.toArraySync() as number[][]).map((r) => r[5]);
    for (const tok of drawn) expect(top).toContain(tok);
    for (const i of top) {
      const p = Math.exp(logits[i] / temperature) / z;
      const freq = drawn.filter((t) => t === i).length / rows;
      // 5 standard deviations of a binomial proportion
      expect(Math.abs(freq - p), `token ${i}`).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / rows) + 1e-9);
    }
    k.dispose([prompt, batch, out]);
  });

  it('samples the argmax when top-k is 1 or top-p keeps only the most likely token', async () => {
    const greedy = await generated(PROMPTS[1], { maxNewTokens: 8 });
    expect(await generated(PROMPTS[1], { maxNewTokens: 8, doSample: true, topK: 1, seed: 5 })).toEqual(
      greedy,
    );
    expect(await generated(PROMPTS[1], { maxNewTokens: 8, doSample: true, topP: 1e-6, seed: 5 })).toEqual(
      greedy,
    );
  });

  it('finishes a row at a stop token and pads it afterwards; stops when every row is done', async () => {
    const greedy = (await generated(PROMPTS[0], { maxNewTokens: 12 })).slice(PROMPTS[0].length);
    const stop = greedy[2];
    const first = greedy.indexOf(stop);
    const out = await generated(PROMPTS[0], { maxNewTokens: 12, eosTokenId: [1000, stop] });
    expect(out.slice(PROMPTS[0].length)).toEqual(greedy.slice(0, first + 1));

    const { input, mask } = leftPad([PROMPTS[0], PROMPTS[1]], 0);
    const batch = await model.generate(input, {
      maxNewTokens: 12,
      eosTokenId: stop,
      padTokenId: 77,
      attentionMask: mask,
    });
    const row = (batch.toArraySync() as number[][])[0].slice(input.shape[1]);
    expect(row.slice(0, first + 1)).toEqual(greedy.slice(0, first + 1));
    expect(new Set(row.slice(first + 1))).toEqual(row.length > first + 1 ? new Set([77]) : new Set());
    k.dispose([input, mask, batch]);
  });

  it('penalises repeated tokens (repetition penalty changes the greedy continuation)', async () => {
    const plain = await generated(PROMPTS[0], { maxNewTokens: 12 });
    const penalised = await generated(PROMPTS[0], { maxNewTokens: 12, repetitionPenalty: 100 });
    const fresh = penalised.slice(PROMPTS[0].length);
    expect(penalised).not.toEqual(plain);
    // With a huge penalty no generated token repeats an earlier one of the row.
    fresh.forEach((tok, i) => {
      expect([...PROMPTS[0], ...fresh.slice(0, i)]).not.toContain(tok);
    });
  });

  it('streams each step as it is produced, the same tokens generate returns', async () => {
    const input = ids([PROMPTS[0]]);
    const streamed: number[] = [];
    for await (const step of streamGenerate(model, input, { maxNewTokens: 6 })) streamed.push(step.tokens[0]);
    expect([...PROMPTS[0], ...streamed]).toEqual(await generated(PROMPTS[0], { maxNewTokens: 6 }));
    input.dispose();
  });

  it('leaves no tensors behind', async () => {
    const input = ids([PROMPTS[2]]);
    const before = k.memory().tensors;
    const out = await model.generate(input, {
      maxNewTokens: 5,
      doSample: true,
      topP: 0.9,
      repetitionPenalty: 1.2,
    });
    out.dispose();
    expect(k.memory().tensors).toBe(before);
    input.dispose();
  });

  it('rejects beam sampling, streamed beams and bad options with clear errors', async () => {
    const input = ids([PROMPTS[0]]);
    await expect(model.generate(input, { numBeams: 4, doSample: true })).rejects.toThrow(/beam sampling/);
    await expect(streamGenerate(model, input, { numBeams: 2 }).next()).rejects.toThrow(/cannot stream/);
    await expect(model.generate(input, { temperature: 0 })).rejects.toThrow(/temperature must be > 0/);
    input.dispose();
  });
});

describe('beam search', () => {
  it('continues the prompt with exactly the PyTorch reference beam (3 beams, 8 tokens)', async () => {
    const { beam } = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as {
      beam: { prompt: number[]; numBeams: number; tokens: number[] };
    };
    const out = await generated(beam.prompt, { maxNewTokens: 8, numBeams: beam.numBeams });
    expect(out).toEqual([...beam.prompt, ...beam.tokens]);
    const recomputed = await generated(beam.prompt, {
      maxNewTokens: 8,
      numBeams: beam.numBeams,
      useCache: false,
    });
    expect(recomputed).toEqual(out);
  });

  it('on a left-padded batch equals searching each prompt alone, and leaves no tensors behind', async () => {
    const alone = [];
    for (const prompt of PROMPTS)
      alone.push((await generated(prompt, { maxNewTokens: 6, numBeams: 4 })).slice(prompt.length));
    const { input, mask } = leftPad(PROMPTS, 0);
    const before = k.memory().tensors;
    const out = await model.generate(input, { maxNewTokens: 6, numBeams: 4, attentionMask: mask });
    const rows = out.toArraySync() as number[][];
    out.dispose();
    expect(k.memory().tensors).toBe(before);
    expect(rows.map((r) => r.slice(input.shape[1]))).toEqual(alone);
    k.dispose([input, mask]);
  });

  it('with stop tokens and length penalties gives exactly the PyTorch reference hypotheses', async () => {
    const { beam, beamWithStop } = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as {
      beam: { prompt: number[] };
      beamWithStop: { eosTokenId: number; lengthPenalty: number; tokens: number[] }[];
    };
    for (const c of beamWithStop) {
      const out = await generated(beam.prompt, {
        maxNewTokens: 8,
        numBeams: 3,
        eosTokenId: c.eosTokenId,
        lengthPenalty: c.lengthPenalty,
      });
      expect(out, `eos ${c.eosTokenId}, length penalty ${c.lengthPenalty}`).toEqual([
        ...beam.prompt,
        ...c.tokens,
      ]);
    }
  });
});

describe('logits warpers (plain-JS definitions as the reference)', () => {
  const scores = [
    [2.0, -1.0, 0.5, 3.0, -2.0, 0.5],
    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
  ];

  it('repetition penalty divides positive and multiplies negative scores of seen tokens', () => {
    const seen = [
      [1, 3, 3],
      [0, 0, 5],
    ];
    const out = applyRepetitionPenalty(
      k.tensor(scores, { dtype: 'float64' }),
      ids(seen),
      2,
    ).toArraySync() as number[][];
    const expected = scores.map((row, r) =>
      row.map((s, v) => (seen[r].includes(v) ? (s < 0 ? s * 2 : s / 2) : s)),
    );
    expect(out).toEqual(expected);
  });

  it('top-k keeps the k highest scores', () => {
    const out = topKFilter(k.tensor(scores, { dtype: 'float64' }), 2).toArraySync() as number[][];
    const expected = scores.map((row) => {
      const kth = [...row].sort((a, b) => b - a)[1];
      return row.map((s) => (s >= kth ? s : Number.NEGATIVE_INFINITY));
    });
    expect(out).toEqual(expected);
  });

  it('top-p keeps the smallest head of the distribution whose mass reaches p', () => {
    const p = 0.7;
    const out = topPFilter(k.tensor(scores, { dtype: 'float64' }), p).toArraySync() as number[][];
    const expected = scores.map((row) => {
      const z = row.reduce((a, s) => a + Math.exp(s), 0);
      const order = row.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0]);
      const kept = new Set<number>();
      let mass = 0;
      for (const [s, i] of order) {
        if (mass >= p) break;
        kept.add(i);
        mass += Math.exp(s) / z;
      }
      return row.map((s, i) => (kept.has(i) ? s : Number.NEGATIVE_INFINITY));
    });
    expect(out).toEqual(expected);
  });
});
