// English -> Spanish translation with a GRU encoder-decoder and Bahdanau attention (the model of
// PyTorch's seq2seq tutorial and TensorFlow's nmt_with_attention), trained on short Bible verses
// (examples/data/en-es-bible-short.tsv, split by examples/lib/translation-data.mjs). Reports corpus
// BLEU of greedy and beam-search translations of the 500 held-out verses against a baseline that
// copies the English source, and writes the loss curve and an attention heat map (SVG).
//
//   node seq2seq-translate.mjs [--steps 600 | --minutes M] [--out out/seq2seq-translate] [--seed 0]
//          [--batch 64] [--embed 64] [--hidden 128] [--min-freq 3] [--lr 5e-3] [--dropout 0]
//          [--beams 3] [--beam-eval 100]
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { Vocab } from '@kiln/data';
import { corpusBleu, Seq2Seq, Trainer, writeAttentionHeatmap } from '@kiln/models';
import { optim } from '@kiln/nn';
import { loadTranslationData, SPECIAL_TOKENS, translationBatches } from './lib/translation-data.mjs';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '600' },
    minutes: { type: 'string' },
    out: { type: 'string', default: 'out/seq2seq-translate' },
    seed: { type: 'string', default: '0' },
    batch: { type: 'string', default: '64' },
    embed: { type: 'string', default: '64' },
    hidden: { type: 'string', default: '128' },
    'min-freq': { type: 'string', default: '3' },
    dropout: { type: 'string', default: '0' },
    beams: { type: 'string', default: '3' },
    'beam-eval': { type: 'string', default: '100' },
    lr: { type: 'string', default: '5e-3' },
  },
});
const seed = Number(args.seed);
/** Longest translation generated: the longest Spanish verse of the data is 25 words + punctuation. */
const MAX_LENGTH = 32;
const batchSize = Number(args.batch);
k.manualSeed(seed);
const started = performance.now();

const { train, test } = await loadTranslationData();
const minFreq = Number(args['min-freq']);
const vocab = {
  source: new Vocab(
    train.map((p) => p.src),
    { minFreq, reservedTokens: SPECIAL_TOKENS },
  ),
  target: new Vocab(
    train.map((p) => p.tgt),
    { minFreq, reservedTokens: SPECIAL_TOKENS },
  ),
};
const {
  padId,
  bosId,
  eosId,
  encode: encodePair,
  padRows,
  batchOfStep,
} = translationBatches(vocab, train, {
  batchSize,
  seed,
});
console.log(
  `${train.length} training and ${test.length} held-out verse pairs; vocabularies: ${vocab.source.length} English, ${vocab.target.length} Spanish words (seen >= ${minFreq} times)`,
);

const model = new Seq2Seq({
  srcVocabSize: vocab.source.length,
  tgtVocabSize: vocab.target.length,
  embedDim: Number(args.embed),
  hiddenSize: Number(args.hidden),
  padId,
  bosId,
  eosId,
  // A few minutes of training leave the model underfitting, so the tutorial's 0.1 dropout only
  // slows it down; --dropout 0.1 restores it for longer runs.
  dropout: Number(args.dropout),
});
model.vocab = vocab;

// Validation loss on the first 128 held-out pairs (masked cross entropy, nats per target token).
const valIds = test.slice(0, 128).map(encodePair);
function validationLoss() {
  let sum = 0;
  let tokens = 0;
  for (let i = 0; i < valIds.length; i += batchSize) {
    const rows = valIds.slice(i, i + batchSize);
    const n = rows.reduce((s, r) => s + r.labels.length, 0);
    const loss = k.tidy(() => {
      const [src, tgtIn, labels] = ['src', 'tgtIn', 'labels'].map((key) => padRows(rows.map((r) => r[key])));
      return model.forward(src, tgtIn, { labels }).loss;
    });
    sum += loss.itemSync() * n;
    tokens += n;
    loss.dispose();
  }
  return sum / tokens;
}

const out = args.out;
await mkdir(out, { recursive: true });
const trainer = new Trainer({
  model,
  optimizer: new optim.Adam(model.parameters(), { lr: Number(args.lr) }),
  loss: (b) => model.forward(b.src, b.tgtIn, { labels: b.labels }).loss,
  batch: (step) => batchOfStep(step),
  // A fixed step count by default, so the figures reproduce; --minutes fits the run to a time budget.
  ...(args.minutes ? { timeLimit: Number(args.minutes) * 60 } : { steps: Number(args.steps) }),
  warmupSteps: 20,
  minLrRatio: 0.1,
  maxGradNorm: 1,
  validate: validationLoss,
  validateEvery: 100,
  // The first steps run slower (JIT warm-up), so a time budget is calibrated over more of them.
  calibrationSteps: 10,
  lossCurve: join(out, 'loss.svg'),
});
const fit = await trainer.fit();
const trainSeconds = fit.seconds;
model.eval();
await model.save(join(out, 'model'));

// Corpus BLEU over the held-out verses (word tokens as above, '<unk>' kept as a wrong word).
const references = test.map((p) => p.tgt);
const words = (t) => vocab.target.toTokens(t.tokens.at(-1) === eosId ? t.tokens.slice(0, -1) : t.tokens);
const greedy = (
  await model.translateBatch(
    test.map((p) => encodePair(p).src),
    { maxLength: MAX_LENGTH },
  )
).map(words);
const bleu = corpusBleu(greedy, references);
const copy = corpusBleu(
  test.map((p) => p.src),
  references,
);
// Beam search decodes one verse at a time, so it is scored on the first `--beam-eval` held-out
// verses only (greedy on the same verses is printed beside it for comparison).
const numBeams = Number(args.beams);
const beamCount = Math.min(test.length, Number(args['beam-eval']));
const beam = [];
for (const p of test.slice(0, beamCount))
  beam.push(words(await model.translate(encodePair(p).src, { numBeams, maxLength: MAX_LENGTH })));
const beamBleu = corpusBleu(beam, references.slice(0, beamCount));
const greedySubsetBleu = corpusBleu(greedy.slice(0, beamCount), references.slice(0, beamCount));

console.log('\nHeld-out examples (greedy):');
for (let i = 0; i < 5; i++)
  console.log(`  en: ${test[i].en}\n  es: ${test[i].es}\n  =>  ${greedy[i].join(' ')}\n`);

// The heat map of the first held-out verse of at most 10 English words, beam-search translated.
const shown = test.find((p) => p.src.length <= 10);
const t = await model.translate(shown.en, { numBeams, maxLength: MAX_LENGTH });
const heatmap = join(out, 'attention.svg');
await writeAttentionHeatmap(heatmap, t.attention, t.sourceWords, t.words, {
  title: `"${shown.en}" -> "${t.text}"`,
  xLabel: 'English (source)',
  yLabel: 'Spanish (output)',
});

const pct = (r) => Number((100 * r.bleu).toFixed(2));
console.log(
  `BLEU on ${test.length} held-out verses: greedy ${pct(bleu)}, copy-the-source baseline ${pct(copy)}; on the first ${beamCount}: beam search (${numBeams} beams) ${pct(beamBleu)}, greedy ${pct(greedySubsetBleu)}`,
);
console.log(
  `trained ${fit.step} steps in ${trainSeconds.toFixed(0)} s; model: ${join(out, 'model')}; loss curve: ${join(out, 'loss.svg')}; attention heat map: ${heatmap}`,
);
console.log(
  JSON.stringify({
    bleu: pct(bleu),
    beamBleu: pct(beamBleu),
    greedySubsetBleu: pct(greedySubsetBleu),
    beamEval: beamCount,
    copyBleu: pct(copy),
    precisions: bleu.precisions.map((p) => Number(p.toFixed(4))),
    brevityPenalty: Number(bleu.brevityPenalty.toFixed(4)),
    heldOut: test.length,
    trainPairs: train.length,
    steps: fit.step,
    trainSeconds: Math.round(trainSeconds),
    totalSeconds: Math.round((performance.now() - started) / 1000),
    trainLoss: Number(fit.train.at(-1)[1].toFixed(4)),
    valLoss: Number(fit.val.at(-1)[1].toFixed(4)),
    heatmap,
    lossCurve: join(out, 'loss.svg'),
    model: join(out, 'model'),
  }),
);
