// English -> Spanish with the encoder-decoder Transformer, trained on this machine in a few minutes.
//
//   node transformer-translate.mjs [--steps 600 | --minutes M] [--out out/transformer-translate]
//                                  [--seed 0] [--beams 3] [--beam-eval 100] [--test-pairs 500]
//                                  [--batch 32] [--d-model 64] [--heads 4] [--layers 2] [--ff 256]
//                                  [--lr 3e-3]
//
// Trains @kiln/models' Transformer (sinusoidal positions, padding and causal masks, torch.nn's
// parameter names) on the short English-Spanish Bible verse pairs of the translation examples
// (examples/data/en-es-bible-short.tsv, split by examples/lib/translation-data.mjs, the Seq2Seq
// example's data and held-out verses) with Adam, warmup + cosine lr, label smoothing and the shared
// Trainer; then translates the held-out verses (greedy and beam search) and reports corpus BLEU
// against the copy-the-source baseline. Writes the model (config.json + model.safetensors), the loss
// curve, sample translations and the heat map of the last decoder layer's cross-attention
// (averaged over heads) for one held-out verse.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { Vocab } from '@kiln/data';
import { corpusBleu, Trainer, Transformer, writeAttentionHeatmap } from '@kiln/models';
import { optim } from '@kiln/nn';
import { loadTranslationData, SPECIAL_TOKENS, translationBatches } from './lib/translation-data.mjs';

/** Seconds kept back from --minutes for translating the held-out verses and writing the files. */
const FINISH_RESERVE = 60;
/** Verses translated together (one padded batch). */
const TRANSLATE_CHUNK = 100;

const { values: args } = parseArgs({
  options: {
    // A fixed step count by default, so the README's figures reproduce exactly (seeded); about two
    // minutes of training on an idle 2-core CPU. --minutes trains for a time budget instead.
    steps: { type: 'string', default: '600' },
    minutes: { type: 'string' },
    out: { type: 'string', default: 'out/transformer-translate' },
    seed: { type: 'string', default: '0' },
    beams: { type: 'string', default: '3' },
    'beam-eval': { type: 'string', default: '100' },
    'test-pairs': { type: 'string' },
    batch: { type: 'string', default: '32' },
    'd-model': { type: 'string', default: '64' },
    heads: { type: 'string', default: '4' },
    layers: { type: 'string', default: '2' },
    ff: { type: 'string', default: '256' },
    lr: { type: 'string', default: '3e-3' },
  },
});
const started = performance.now();
const seed = Number(args.seed);
const numBeams = Number(args.beams);
const batchSize = Number(args.batch);
const out = resolve(args.out);
const paths = {
  model: join(out, 'model'),
  lossCurve: join(out, 'loss.svg'),
  heatmap: join(out, 'attention.svg'),
  samples: join(out, 'samples.txt'),
};
await mkdir(out, { recursive: true });

const data = await loadTranslationData();
const train = data.train;
const test = args['test-pairs'] ? data.test.slice(0, Number(args['test-pairs'])) : data.test;
// Words seen twice or more, as the Seq2Seq example: '<unk>' 0, then '<pad>' 1, '<bos>' 2, '<eos>' 3.
const vocab = {
  source: new Vocab(
    train.map((p) => p.src),
    { minFreq: 2, reservedTokens: SPECIAL_TOKENS },
  ),
  target: new Vocab(
    train.map((p) => p.tgt),
    { minFreq: 2, reservedTokens: SPECIAL_TOKENS },
  ),
};
const {
  padId,
  bosId,
  eosId,
  encode: encodePair,
  batchOfStep,
} = translationBatches(vocab, train, {
  batchSize,
  seed,
});
console.error(
  `data: ${train.length} training and ${test.length} held-out verse pairs; vocabularies ${vocab.source.length} English, ${vocab.target.length} Spanish words`,
);

const config = {
  srcVocabSize: vocab.source.length,
  tgtVocabSize: vocab.target.length,
  dModel: Number(args['d-model']),
  nhead: Number(args.heads),
  numEncoderLayers: Number(args.layers),
  numDecoderLayers: Number(args.layers),
  dimFeedforward: Number(args.ff),
  // Minutes of training see each verse a few times only: too little to overfit, so no dropout.
  dropout: 0,
  maxLength: 64,
  padTokenId: padId,
  bosTokenId: bosId,
  eosTokenId: eosId,
};
k.manualSeed(seed);
const model = new Transformer(config);
const parameters = [...model.parameters()].reduce((n, p) => n + p.numel(), 0);
console.error(
  `model: ${config.numEncoderLayers} encoder + ${config.numDecoderLayers} decoder layers, width ${config.dModel}, ${config.nhead} heads: ${(parameters / 1e6).toFixed(2)}M parameters`,
);

const steps = args.minutes === undefined ? Number(args.steps) : undefined;
const trainer = new Trainer({
  model,
  // "Attention Is All You Need", 5.3: Adam with beta2 0.98, warmup; label smoothing 0.1 (5.4).
  optimizer: new optim.Adam(model.parameters(), { lr: Number(args.lr), betas: [0.9, 0.98], eps: 1e-9 }),
  loss: (b) => model.forward(b.src, b.tgtIn, { labels: b.labels, labelSmoothing: 0.1 }).loss,
  batch: (step) => batchOfStep(step),
  ...(steps === undefined
    ? {
        timeLimit: Math.max(
          1,
          Number(args.minutes) * 60 - FINISH_RESERVE - (performance.now() - started) / 1000,
        ),
      }
    : { steps }),
  // A time budget becomes a step count after these steps: the first steps are slow (warming up).
  calibrationSteps: 10,
  warmupSteps: 40,
  minLrRatio: 0.05,
  maxGradNorm: 1,
  lossCurve: paths.lossCurve,
});
const fit = await trainer.fit();
model.eval();
await model.save(paths.model);

// Corpus BLEU over the held-out verses ('<unk>' kept as a wrong word), greedy and beam search.
async function translateAll(pairs, options) {
  const results = [];
  for (let first = 0; first < pairs.length; first += TRANSLATE_CHUNK) {
    const chunk = pairs.slice(first, first + TRANSLATE_CHUNK).map((p) => encodePair(p).src);
    // Spanish verses run at most a few words longer than their English.
    const maxLength = 2 * Math.max(...chunk.map((s) => s.length)) + 2;
    results.push(...(await model.translate(chunk, { maxLength, ...options })));
  }
  return results;
}
const words = (t) => vocab.target.toTokens(t.tokens);
const references = test.map((p) => p.tgt);
const greedy = await translateAll(test, {});
const bleu = corpusBleu(greedy.map(words), references);
// Beam search recomputes the decoder for every beam at every step, so on a CPU it translates the
// first --beam-eval verses only; greedy BLEU on those same verses is reported beside it.
const beamPairs = test.slice(0, Number(args['beam-eval']));
const beam = numBeams > 1 && beamPairs.length > 0 ? await translateAll(beamPairs, { numBeams }) : null;
const beamBleu = beam ? corpusBleu(beam.map(words), references.slice(0, beam.length)) : null;
const greedyOnBeamPairs = beam
  ? corpusBleu(greedy.slice(0, beam.length).map(words), references.slice(0, beam.length))
  : null;
const copy = corpusBleu(
  test.map((p) => p.src),
  references,
);

// The heat map of the first held-out verse of 6 to 12 English words, greedily translated.
const shownAt = Math.max(
  0,
  test.findIndex((p) => p.src.length >= 6 && p.src.length <= 12),
);
const shown = greedy[shownAt];
await writeAttentionHeatmap(
  paths.heatmap,
  shown.attention,
  [...vocab.source.toTokens(encodePair(test[shownAt]).src)],
  words(shown),
  {
    title: `"${test[shownAt].en}" -> "${words(shown).join(' ')}"`,
    xLabel: 'English (source)',
    yLabel: 'Spanish (output)',
  },
);

const samples = test
  .slice(0, 20)
  .map((p, i) => `en: ${p.en}\nes: ${p.es}\n=>  ${words(greedy[i]).join(' ')}\n`);
await writeFile(paths.samples, samples.join('\n'));

const pct = (r) => Number((100 * r.bleu).toFixed(2));
console.error(`\nHeld-out examples (greedy):\n${samples.slice(0, 3).join('\n')}`);
console.error(
  `BLEU on ${test.length} held-out verses: greedy ${pct(bleu)}, copy-the-source baseline ${pct(copy)}${beam ? `; on the first ${beam.length}: beam (${numBeams}) ${pct(beamBleu)}, greedy ${pct(greedyOnBeamPairs)}` : ''}`,
);
console.error(
  `trained ${fit.step} steps in ${fit.seconds.toFixed(0)} s; wrote:\n  ${paths.model}/  (config.json + model.safetensors)\n  ${paths.lossCurve}\n  ${paths.heatmap}\n  ${paths.samples}`,
);
console.log(
  JSON.stringify({
    bleu: pct(bleu),
    beamBleu: beam ? pct(beamBleu) : null,
    greedyBleuOnBeamPairs: beam ? pct(greedyOnBeamPairs) : null,
    beamPairs: beam ? beam.length : 0,
    copyBleu: pct(copy),
    precisions: bleu.precisions.map((p) => Number(p.toFixed(4))),
    brevityPenalty: Number(bleu.brevityPenalty.toFixed(4)),
    heldOut: test.length,
    trainPairs: train.length,
    parameters,
    steps: fit.step,
    trainSeconds: Math.round(fit.seconds),
    seconds: Math.round((performance.now() - started) / 1000),
    trainLoss: Number(fit.train.at(-1)[1].toFixed(4)),
    heatmap: paths.heatmap,
    lossCurve: paths.lossCurve,
    model: paths.model,
  }),
);
