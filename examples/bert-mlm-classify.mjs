// BERT from scratch on two novels: masked-LM + next-sentence pretraining (BertForPreTraining) on
// unlabelled text of Moby Dick and Pride and Prejudice, saved and reloaded in Hugging Face's
// layout, then fine-tuned (BertForSequenceClassification) to tell which novel a sentence comes from,
// with few labels. The same classifier trained from random weights, and the majority class, give
// the accuracy to compare with. Both books are split by position: pretraining and labelled
// sentences come from the first 80% of each, test sentences from the last 20%.
//
//   node bert-mlm-classify.mjs [--minutes 3] [--steps N] [--finetune-steps 100] [--labelled 128]
//                              [--max-len 32] [--vocab 2000] [--hidden 128] [--layers 2] [--lr 2e-3]
//                              [--finetune-lr 1e-3] [--out out/bert-mlm-classify] [--seed 0]
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { epochRandom, Random } from '@kiln/data';
import { BERT, BertForSequenceClassification, MLMCollator, nextSentencePairs, Trainer } from '@kiln/models';
import { F, optim } from '@kiln/nn';
import { trainWordPiece } from '@kiln/tokenizers';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    'max-len': { type: 'string', default: '32' },
    steps: { type: 'string' },
    'finetune-steps': { type: 'string', default: '100' },
    labelled: { type: 'string', default: '128' },
    vocab: { type: 'string', default: '2000' },
    hidden: { type: 'string', default: '128' },
    layers: { type: 'string', default: '2' },
    lr: { type: 'string', default: '2e-3' },
    'finetune-lr': { type: 'string', default: '1e-3' },
    out: { type: 'string', default: 'out/bert-mlm-classify' },
    seed: { type: 'string', default: '0' },
  },
});
const seed = Number(args.seed);
const MAX_LEN = Number(args['max-len']);
const BATCH = 32;
const TEST_PER_CLASS = 500;
const LABELLED_PER_CLASS = Number(args.labelled);
k.manualSeed(seed);
await mkdir(args.out, { recursive: true });

// ---- text: sentences by book, split by position -------------------------------------------------

/** The novel's body: from its first chapter heading to the Gutenberg footer. */
async function novel(file, start) {
  const text = await readFile(join(import.meta.dirname, 'data', file), 'utf8');
  const from = text.indexOf(start);
  const to = text.indexOf('End of Project Gutenberg');
  return text.slice(from, to < 0 ? undefined : to);
}

/** Paragraphs (blank-line separated) of sentences of 6 to 40 words; headings are dropped. */
function paragraphs(text) {
  return text
    .split(/\n\s*\n/)
    .map((p) =>
      p
        .replace(/\s+/g, ' ')
        .trim()
        .split(/(?<=[.!?]["'’”]?)\s+(?=["'‘“]?[A-Z])/)
        .filter((s) => {
          const words = s.split(' ').length;
          return words >= 6 && words <= 40 && !/^CHAPTER|^Chapter/.test(s);
        }),
    )
    .filter((p) => p.length > 0);
}

const books = [
  { name: 'Moby Dick', paragraphs: paragraphs(await novel('moby-dick.txt', 'CHAPTER 1. Loomings.')) },
  {
    name: 'Pride and Prejudice',
    paragraphs: paragraphs(await novel('pride-and-prejudice.txt', 'Chapter 1')),
  },
];
for (const book of books) {
  const cut = Math.floor(book.paragraphs.length * 0.8);
  book.train = book.paragraphs.slice(0, cut);
  book.test = book.paragraphs.slice(cut).flat();
}

// ---- tokenizer: WordPiece learned from the training part ------------------------------------------

const started = performance.now();
const trainText = books.flatMap((b) => b.train.flat());
const tokenizer = trainWordPiece(trainText, { vocabSize: Number(args.vocab) });
const encodeOptions = { truncation: true, maxLength: MAX_LEN };
console.log(
  `WordPiece vocabulary of ${tokenizer.vocabSize} learned from ${trainText.length} training sentences in ` +
    `${((performance.now() - started) / 1000).toFixed(1)} s`,
);

// ---- pretraining: masked LM + next sentence prediction --------------------------------------------

// Documents for next-sentence pairs: runs of 20 consecutive sentences of each book's training part.
const documents = books.flatMap((b) => {
  const sentences = b.train.flat();
  return Array.from({ length: Math.ceil(sentences.length / 20) }, (_, i) =>
    sentences.slice(i * 20, i * 20 + 20),
  );
});
const pairs = nextSentencePairs(documents, new Random(seed)).map(({ first, second, nextSentenceLabel }) => {
  const e = tokenizer.encode(first, second, encodeOptions);
  return { inputIds: e.ids, tokenTypeIds: e.typeIds, nextSentenceLabel };
});
const collator = MLMCollator.fromTokenizer(tokenizer, { seed });
console.log(`pretraining on ${pairs.length} sentence pairs (${documents.length} documents)`);

const config = {
  vocab_size: tokenizer.vocabSize,
  hidden_size: Number(args.hidden),
  num_hidden_layers: Number(args.layers),
  num_attention_heads: Number(args.hidden) / 32,
  intermediate_size: 4 * Number(args.hidden),
  max_position_embeddings: MAX_LEN,
  // No dropout in the encoder: runs of a few minutes underfit rather than overfit, and drawing the
  // masks is a good part of a CPU step. The classifier keeps BERT's 0.1.
  hidden_dropout_prob: 0,
  attention_probs_dropout_prob: 0,
  classifier_dropout: 0.1,
  id2label: { 0: 'Moby Dick', 1: 'Pride and Prejudice' },
};
const bert = new BERT(config);
// Pairs of each step drawn from a generator seeded by the step, so a batch depends on its step only.
const pretrainBatch = (step) => {
  const rng = epochRandom(seed, step);
  const examples = Array.from({ length: BATCH }, () => pairs[rng.int(pairs.length)]);
  return collator.collate(examples, rng);
};
// Validation: MLM + NSP loss on fixed pairs from the held-out 20% (masked with a fixed seed).
const heldOut = nextSentencePairs(
  books.map((b) => b.test),
  new Random(seed + 1),
)
  .slice(0, 4 * BATCH)
  .map(({ first, second, nextSentenceLabel }) => {
    const e = tokenizer.encode(first, second, encodeOptions);
    return { inputIds: e.ids, tokenTypeIds: e.typeIds, nextSentenceLabel };
  });
const valBatches = Array.from({ length: 4 }, (_, i) =>
  collator.collate(heldOut.slice(i * BATCH, (i + 1) * BATCH), new Random(seed + 2 + i)),
);
let nspAccuracy = 0;
async function validatePretraining(model) {
  let loss = 0;
  let correct = 0;
  for (const b of valBatches) {
    const [l, c] = k.tidy(() => {
      const out = model.forward(b.inputIds, b);
      return [out.loss, out.nextSentenceLogits.argmax(1).eq(b.nextSentenceLabel).sum()];
    });
    loss += await l.item();
    correct += await c.item();
    k.dispose([l, c]);
  }
  nspAccuracy = correct / heldOut.length;
  return loss / valBatches.length;
}

const steps = args.steps ? Number(args.steps) : undefined;
/**
 * BertForPreTraining's loss (masked-LM cross entropy + next-sentence cross entropy), with the
 * vocabulary projection computed at the masked positions only, as Google's original
 * run_pretraining.py does (gather_indexes over masked_lm_positions): the same value and gradients
 * as `bert.forward(ids, batch).loss`, without the [B * T, vocab] logits of the ~85% of positions
 * whose labels are -100 (most of a CPU step otherwise).
 */
function pretrainingLoss(b) {
  const { lastHiddenState, poolerOutput } = bert.bert.forward(b.inputIds, b);
  const [n, t, h] = lastHiddenState.shape;
  const labels = b.labels.dataSync();
  const positions = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] !== -100) positions.push(i);
  const index = k.tensor(positions, { dtype: 'int32' });
  const masked = lastHiddenState.reshape(n * t, h).indexSelect(0, index);
  const logits = bert.cls.predictions.forward(masked, bert.bert.embeddings.word_embeddings.weight);
  const mlm = F.crossEntropy(logits, b.labels.reshape(n * t).indexSelect(0, index));
  const nsp = F.crossEntropy(bert.cls.seq_relationship.forward(poolerOutput), b.nextSentenceLabel);
  return mlm.add(nsp);
}

const pretrainer = new Trainer({
  model: bert,
  optimizer: new optim.AdamW(bert.parameters(), { lr: Number(args.lr), weightDecay: 0.01 }),
  loss: pretrainingLoss,
  calibrationSteps: 10,
  batch: pretrainBatch,
  steps,
  timeLimit: steps ? undefined : Number(args.minutes) * 60,
  warmupSteps: 20,
  maxGradNorm: 1,
  validate: validatePretraining,
  validateEvery: 100,
  tokensPerStep: BATCH * MAX_LEN,
  lossCurve: join(args.out, 'pretraining-loss.svg'),
});
const pretraining = await pretrainer.fit();
const pretrainedDir = join(args.out, 'pretrained');
bert.tokenizer = tokenizer;
await bert.save(pretrainedDir);
const finalVal = pretraining.val.at(-1)[1];
console.log(
  `pretraining: ${pretraining.step} steps in ${pretraining.seconds.toFixed(0)} s, training loss ` +
    `${pretraining.train[0][1].toFixed(2)} -> ${pretraining.train.at(-1)[1].toFixed(2)}, held-out MLM + NSP loss ` +
    `${finalVal.toFixed(3)}, held-out NSP accuracy ${(nspAccuracy * 100).toFixed(1)}%; saved to ${pretrainedDir}`,
);
bert.dispose();

// ---- fine-tuning: which book is a sentence from? ---------------------------------------------------

/** n sentences per book from `part`, drawn without replacement, encoded with their label. */
function labelled(part, n, rng) {
  return books.flatMap((b, label) =>
    rng
      .shuffle([...b[part]].flat())
      .slice(0, n)
      .map((s) => ({ ids: tokenizer.encode(s, encodeOptions).ids, label })),
  );
}
const trainSet = labelled('train', LABELLED_PER_CLASS, new Random(seed + 10));
const testSet = labelled('test', TEST_PER_CLASS, new Random(seed + 11));

/** [B, T] ids padded with [PAD] (0 in the mask), and [B] labels. */
function classificationBatch(examples) {
  const t = Math.max(...examples.map((e) => e.ids.length));
  const pad = tokenizer.specialTokenId('pad');
  const ids = examples.map((e) => [...e.ids, ...Array(t - e.ids.length).fill(pad)]);
  const mask = examples.map((e) => [...Array(e.ids.length).fill(1), ...Array(t - e.ids.length).fill(0)]);
  return {
    inputIds: k.tensor(ids, { dtype: 'int32' }),
    attentionMask: k.tensor(mask, { dtype: 'int32' }),
    labels: k.tensor(
      examples.map((e) => e.label),
      { dtype: 'int32' },
    ),
  };
}

async function accuracy(model) {
  model.eval();
  let correct = 0;
  for (let i = 0; i < testSet.length; i += 100) {
    const b = classificationBatch(testSet.slice(i, i + 100));
    correct += await k
      .noGrad(() => k.tidy(() => model.forward(b.inputIds, b).logits.argmax(1).eq(b.labels).sum()))
      .item();
    k.dispose(Object.values(b));
  }
  return correct / testSet.length;
}

async function fineTune(model, name) {
  const trainer = new Trainer({
    model,
    optimizer: new optim.AdamW(model.parameters(), { lr: Number(args['finetune-lr']), weightDecay: 0.01 }),
    loss: (b) => model.forward(b.inputIds, b).loss,
    batch: (step) => {
      const rng = epochRandom(seed + 20, step);
      return classificationBatch(Array.from({ length: BATCH }, () => trainSet[rng.int(trainSet.length)]));
    },
    steps: Number(args['finetune-steps']),
    warmupSteps: 10,
    maxGradNorm: 1,
    lossCurve: join(args.out, `finetune-${name}-loss.svg`),
  });
  const result = await trainer.fit();
  const acc = await accuracy(model);
  console.log(
    `${name}: test accuracy ${(acc * 100).toFixed(1)}% after ${result.step} steps in ${result.seconds.toFixed(0)} s`,
  );
  model.dispose();
  return acc;
}

const messages = [];
const pretrained = await BertForSequenceClassification.fromPretrained(pretrainedDir, {
  warn: (m) => messages.push(m),
});
console.log(`fine-tuning ${messages[0]}`);
const withPretraining = await fineTune(pretrained, 'pretrained');
k.manualSeed(seed);
const withoutPretraining = await fineTune(new BertForSequenceClassification(config), 'from-scratch');
const majority = Math.max(...[0, 1].map((c) => testSet.filter((e) => e.label === c).length)) / testSet.length;

const metrics = {
  pretrainingSteps: pretraining.step,
  heldOutPretrainingLoss: finalVal,
  heldOutNspAccuracy: nspAccuracy,
  labelledPerClass: LABELLED_PER_CLASS,
  testSentences: testSet.length,
  accuracy: { pretrained: withPretraining, fromScratch: withoutPretraining, majority },
};
await writeFile(join(args.out, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
console.log(`outputs in ${args.out}: pretrained/ (HF layout), metrics.json, *-loss.svg`);
console.log(JSON.stringify(metrics));
