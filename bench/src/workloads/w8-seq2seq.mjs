// W8: one training step of a seq2seq model: GRU encoder, GRU decoder with Bahdanau (additive)
// attention (@kiln/models' Seq2Seq), vocab 4000/4000, embed 256, units 512, batch 64, source and
// target length 16, teacher forcing, cross-entropy masked at padding, Adam. Figure: ms per step.
// The batch is right-padded to 16 with lengths 8..16 and tokens from a fixed LCG, so that
// peers/torch_workloads/w8_seq2seq.py builds the very same ids.
import * as k from '@kiln/core';
import { Seq2Seq } from '@kiln/models';
import { optim } from '@kiln/nn';

const PAD = 0;
const BOS = 1;
const EOS = 2;

/**
 * Sources, decoder inputs and labels [batch][len]: row i holds 8 + (i * 5) % 9 tokens (source: its
 * words then EOS; labels: the target words then EOS; decoder inputs: BOS then the labels shifted
 * right), padded with PAD. Words are 3..vocab-1 from the MINSTD LCG seeded with 12345 (the same sequence in
 * Python).
 * @param {number} batch @param {number} len @param {number} vocab
 */
export function seq2seqBatch(batch, len, vocab) {
  let state = 12345;
  const word = () => {
    state = (state * 48271) % 2147483647; // MINSTD: exact in doubles (< 2^53)
    return 3 + (state % (vocab - 3));
  };
  /** @param {number} n */
  const sentence = (n) => [...Array.from({ length: n - 1 }, word), EOS, ...new Array(len - n).fill(PAD)];
  const src = [];
  const labels = [];
  const tgtIn = [];
  for (let i = 0; i < batch; i++) {
    const n = 8 + ((i * 5) % 9);
    src.push(sentence(n));
    const y = sentence(n);
    labels.push(y);
    tgtIn.push([BOS, ...y.slice(0, len - 1)].map((t, j) => (j < n ? t : PAD)));
  }
  return { src, tgtIn, labels };
}

/** @type {import('../workload').KilnWorkload} */
export default {
  kind: 'kiln',
  id: 'W8',
  title:
    'seq2seq GRU + Bahdanau attention train step (vocab 4000, embed 256, units 512, Adam), batch 64, len 16',
  options: {},
  cases: () => [
    {
      label: 'b64 16/16',
      params: { batch: 64, srcLen: 16, tgtLen: 16, vocab: 4000, embed: 256, units: 512 },
    },
  ],
  figure: { unit: 'ms', fromMs: (ms) => ms },
  limits: () => [],
  torch: true,
  setup(params) {
    k.manualSeed(0);
    const p = /** @type {Record<string, number>} */ (params);
    if (p.srcLen !== p.tgtLen)
      throw new Error('W8: the batch builder pads sources and targets to one length');
    const model = new Seq2Seq({
      srcVocabSize: p.vocab,
      tgtVocabSize: p.vocab,
      embedDim: p.embed,
      hiddenSize: p.units,
      padId: PAD,
      bosId: BOS,
      eosId: EOS,
      dropout: 0,
    });
    const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
    const data = seq2seqBatch(p.batch, p.srcLen, p.vocab);
    const [src, tgtIn, labels] = [data.src, data.tgtIn, data.labels].map((rows) =>
      k.tensor(rows, { dtype: 'int32' }),
    );
    const step = () => {
      const { loss } = model.forward(src, tgtIn, { labels });
      opt.zeroGrad();
      /** @type {k.Tensor} */ (loss).backward();
      opt.step();
      return /** @type {k.Tensor} */ (loss);
    };
    // One step up front creates Adam's state and the gradients, which then persist: the harness
    // counts any tensor beyond them as a leak.
    k.tidy(step).dispose();
    return {
      step,
      dispose: () => {
        opt.dispose();
        model.dispose();
        k.dispose([src, tgtIn, labels]);
      },
    };
  },
};
