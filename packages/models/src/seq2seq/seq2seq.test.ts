// Seq2Seq against the PyTorch reference of scripts/fixtures/seq2seq.py (the PyTorch tutorial's
// EncoderRNN / BahdanauAttention / AttnDecoderRNN with packed padded sources): the same weights give
// the same logits, attention, loss, gradients and greedy translations. Decoding is then checked
// against its own definitions: beam 1 is greedy, wider beams never score below greedy, and a
// translation's score is the teacher-forced log-probability of its tokens.
import '@kiln/backend-cpu';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k from '@kiln/core';
import { Vocab } from '@kiln/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Seq2Seq } from '../index.js';
import { relativeError } from '../testing/parity.js';
import { beamSearch, greedySearch } from './search.js';

const FIXTURES = fileURLToPath(new URL('../../test-fixtures/seq2seq/', import.meta.url));

interface Expected {
  src: number[][];
  tgtIn: number[][];
  labels: number[][];
  logitsShape: number[];
  logits: number[];
  attentionShape: number[];
  attention: number[];
  loss: number;
  greedy: { tokens: number[]; score: number; attention: number[][] }[];
}

let expected: Expected;
let model: Seq2Seq;

beforeAll(async () => {
  expected = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as Expected;
  model = await Seq2Seq.fromPretrained(FIXTURES);
});

afterAll(() => model.dispose());

const ids = (rows: number[][]) => k.tensor(rows, { dtype: 'int32' });

/** The real (unpadded) tokens of fixture source i. */
function source(i: number): number[] {
  return expected.src[i].filter((t) => t !== model.config.padId);
}

/** A deterministic pseudo-random source of `n` ordinary tokens (ids 4..22 of the fixture's 23) then eos (3). */
function randomSource(seed: number, n: number): number[] {
  let s = seed;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 8;
  };
  return [...Array.from({ length: n }, () => 4 + (next() % 19)), 3];
}

describe('Seq2Seq modules', () => {
  it("uses the PyTorch tutorial's module names, so the reference state dict loads unchanged", async () => {
    const names = [...model.namedParameters()].map(([n]) => n);
    expect(names).toEqual([
      'encoder.embedding.weight',
      'encoder.gru.weight_ih_l0',
      'encoder.gru.weight_hh_l0',
      'encoder.gru.bias_ih_l0',
      'encoder.gru.bias_hh_l0',
      'decoder.embedding.weight',
      'decoder.attention.Wa.weight',
      'decoder.attention.Wa.bias',
      'decoder.attention.Ua.weight',
      'decoder.attention.Ua.bias',
      'decoder.attention.Va.weight',
      'decoder.attention.Va.bias',
      'decoder.gru.weight_ih_l0',
      'decoder.gru.weight_hh_l0',
      'decoder.gru.bias_ih_l0',
      'decoder.gru.bias_hh_l0',
      'decoder.out.weight',
      'decoder.out.bias',
    ]);
    const reference = await k.loadSafetensors(join(FIXTURES, 'model.safetensors'));
    expect(Object.keys(reference).sort()).toEqual([...names].sort());
    expect(model.stateDict()['decoder.gru.weight_ih_l0'].shape).toEqual([3 * 12, 8 + 12]);
    k.dispose(reference);
  });
});

describe('Seq2Seq parity with PyTorch', () => {
  it('gives the reference logits and attention weights within 1e-4 relative (padded sources packed)', () => {
    const { logits, attention } = k.noGrad(() => model.forward(ids(expected.src), ids(expected.tgtIn)));
    expect(logits.shape).toEqual(expected.logitsShape);
    expect(attention.shape).toEqual(expected.attentionShape);
    expect(relativeError(logits.dataSync() as Float32Array, expected.logits)).toBeLessThan(1e-4);
    expect(relativeError(attention.dataSync() as Float32Array, expected.attention)).toBeLessThan(1e-4);
    k.dispose([logits, attention]);
  });

  it('gives the reference masked loss and every parameter gradient within 1e-3 relative', async () => {
    const grads = await k.loadSafetensors(join(FIXTURES, 'grads.safetensors'));
    const { loss } = model.forward(ids(expected.src), ids(expected.tgtIn), { labels: ids(expected.labels) });
    expect(Math.abs(loss!.itemSync() - expected.loss) / expected.loss).toBeLessThan(1e-5);
    loss!.backward();
    for (const [name, p] of model.namedParameters()) {
      const ours = p.grad!.dataSync() as Float32Array;
      const reference = grads[name].dataSync() as Float32Array;
      if (name === 'decoder.attention.Va.bias') {
        // Va's bias adds one constant to every score of a softmax, which cancels: its gradient is
        // 0 in exact arithmetic, and both sides hold rounding noise, so only its size is compared.
        expect(Math.abs(ours[0]), name).toBeLessThan(1e-6);
        expect(Math.abs(reference[0]), name).toBeLessThan(1e-6);
        continue;
      }
      expect(relativeError(ours, reference), name).toBeLessThan(1e-3);
    }
    model.zeroGrad();
    k.dispose([loss!, ...Object.values(grads)]);
  });

  it('translates each source greedily to the reference tokens, score and attention rows', async () => {
    for (let i = 0; i < expected.greedy.length; i++) {
      const ref = expected.greedy[i];
      const out = await model.translate(source(i), { maxLength: 10 });
      expect(out.tokens).toEqual(ref.tokens);
      expect(Math.abs(out.score - ref.score)).toBeLessThan(1e-4 * Math.abs(ref.score));
      expect(relativeError(out.attention.flat(), ref.attention.flat())).toBeLessThan(1e-4);
    }
  });

  it('translates a padded batch exactly as each source alone', async () => {
    const batch = await model.translateBatch([source(0), source(1), source(2)], { maxLength: 10 });
    for (let i = 0; i < 3; i++) {
      const alone = await model.translate(source(i), { maxLength: 10 });
      expect(batch[i].tokens).toEqual(alone.tokens);
      expect(batch[i].attention[0]).toHaveLength(source(i).length);
      expect(relativeError(batch[i].attention.flat(), alone.attention.flat())).toBeLessThan(1e-5);
    }
  });
});

describe('Seq2Seq masked loss', () => {
  it('ignores padding: extra padded steps, and whatever the padded decoder inputs hold, change nothing', () => {
    const pad = model.config.padId;
    const base = k.noGrad(() =>
      model
        .forward(ids(expected.src), ids(expected.tgtIn), { labels: ids(expected.labels) })
        .loss!.itemSync(),
    );
    const widen = (rows: number[][], fill: (r: number) => number) =>
      rows.map((row, r) => [...row, fill(r), fill(r)]);
    const scrambled = expected.tgtIn.map((row, r) =>
      row.map((t, j) => (expected.labels[r][j] === pad ? 5 + j : t)),
    );
    const loss = k.noGrad(() =>
      model
        .forward(ids(expected.src), ids(widen(scrambled, () => 7)), {
          labels: ids(widen(expected.labels, () => pad)),
        })
        .loss!.itemSync(),
    );
    expect(Math.abs(loss - base)).toBeLessThan(1e-6);
  });

  it('gives source padding zero attention and leaves real positions as without it', () => {
    const src = source(2);
    const padded = [...src, model.config.padId, model.config.padId];
    const tgt = [expected.tgtIn[2]];
    const [a, b] = k.noGrad(() => [
      model.forward(ids([src]), ids(tgt)),
      model.forward(ids([padded]), ids(tgt)),
    ]);
    expect(
      relativeError(b.logits.dataSync() as Float32Array, a.logits.dataSync() as Float32Array),
    ).toBeLessThan(1e-6);
    const weights = b.attention.toArraySync() as number[][][];
    for (const row of weights[0]) expect(row.slice(src.length)).toEqual([0, 0]);
  });
});

describe('Seq2Seq decoding', () => {
  const sources = Array.from({ length: 8 }, (_, i) => randomSource(i + 1, 2 + (i % 5)));

  it('beam search with one beam is greedy search: same tokens, score and attention', async () => {
    for (const s of sources) {
      const src = ids([s]);
      const [greedy] = await greedySearch(model, src, { maxLength: 8 });
      const beam = await beamSearch(model, src, { numBeams: 1, maxLength: 8 });
      expect(beam).toEqual(greedy);
      src.dispose();
    }
  });

  it("scores a translation by the model's own log-probability of its tokens (teacher-forced re-scoring)", async () => {
    for (const s of sources.slice(0, 4)) {
      const out = await model.translate(s, { numBeams: 3, maxLength: 8 });
      const input = [model.config.bosId, ...out.tokens.slice(0, -1)];
      const logp = k.noGrad(() => model.forward(ids([s]), ids([input])).logits.logSoftmax(-1));
      const rows = (logp.toArraySync() as number[][][])[0];
      const rescored = out.tokens.reduce((sum, t, i) => sum + rows[i][t], 0);
      expect(Math.abs(out.score - rescored)).toBeLessThan(1e-4);
      logp.dispose();
    }
  });

  it('never scores below greedy with 2, 3 or 5 beams', async () => {
    let improved = 0;
    for (const s of sources) {
      const greedy = await model.translate(s, { maxLength: 8 });
      for (const numBeams of [2, 3, 5]) {
        const beam = await model.translate(s, { numBeams, maxLength: 8 });
        expect(beam.score).toBeGreaterThanOrEqual(greedy.score);
        expect(beam.attention).toHaveLength(beam.tokens.length);
        if (beam.score > greedy.score + 1e-9) improved++;
      }
    }
    // The search does find better translations than greedy, not only greedy's own.
    expect(improved).toBeGreaterThan(0);
  });

  it('leaves no tensors behind', async () => {
    const before = k.memory().tensors;
    await model.translate(sources[0], { maxLength: 8 });
    await model.translate(sources[1], { numBeams: 3, maxLength: 8 });
    await model.translateBatch(sources, { maxLength: 8 });
    expect(k.memory().tensors).toBe(before);
  });
});

describe('Seq2Seq.save / fromPretrained', () => {
  it('round-trips the weights and vocabularies, and translates a sentence into words with its attention', async () => {
    const special = ['<pad>', '<bos>', '<eos>'];
    const words = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    model.vocab = {
      source: new Vocab([[...words(model.config.srcVocabSize - 6, 's'), ',', '!']], {
        reservedTokens: special,
      }),
      target: new Vocab([words(model.config.tgtVocabSize - 4, 't')], { reservedTokens: special }),
    };
    const dir = await mkdtemp(join(tmpdir(), 'kiln-seq2seq-'));
    await model.save(dir);
    model.vocab = null;
    const again = await Seq2Seq.fromPretrained(dir);
    expect(again.config.toJSON()).toEqual(model.config.toJSON());
    const a = model.stateDict();
    const b = again.stateDict();
    for (const name of Object.keys(a)) expect(b[name].dataSync(), name).toEqual(a[name].dataSync());
    expect(again.training).toBe(false);

    const out = await again.translate('S3 s5, s0!');
    expect(out.sourceWords).toEqual(['s3', 's5', ',', 's0', '!', '<eos>']);
    expect(out.attention).toHaveLength(out.words.length);
    expect(out.attention[0]).toHaveLength(out.sourceWords.length);
    expect(out.words).toEqual(again.vocab!.target.toTokens(out.tokens));
    expect(out.text).toBe(out.words.filter((w) => w !== '<eos>').join(' '));
    expect(out.tokens).toEqual((await again.translate(again.sourceIds('S3 s5, s0!'))).tokens);
    again.dispose();
    await rm(dir, { recursive: true });
  });
});

describe('Seq2Seq errors', () => {
  it('name the op and the shapes', async () => {
    const src = ids(expected.src);
    expect(() => model.forward(src, ids([[2, 5]]))).toThrow(
      /Seq2Seq.forward: srcIds \[3, 7\] and tgtInputIds \[1, 2\] have different batch sizes/,
    );
    expect(() => model.forward(src, ids(expected.tgtIn), { labels: ids([[1, 2]]) })).toThrow(
      /Seq2Seq.forward: labels must be \[3, 6\] like tgtInputIds, got \[1, 2\]/,
    );
    expect(() => model.forward(k.ones([3, 7]), ids(expected.tgtIn))).toThrow(
      /Seq2Seq.encode: expected integer srcIds \[batch, seq\], got float32 \[3, 7\]/,
    );
    await expect(model.translate(src)).rejects.toThrow(/Seq2Seq.translate: expected one non-empty source/);
    await expect(model.translate('hello')).rejects.toThrow(
      /Seq2Seq.sourceIds: the model has no vocabularies/,
    );
    expect(() => new Seq2Seq({ srcVocabSize: 10, tgtVocabSize: 5, padId: 0, bosId: 1, eosId: 7 })).toThrow(
      /Seq2SeqConfig: eosId must be a token id in both vocabularies, 0..4 \(got 7\)/,
    );
    src.dispose();
  });
});
