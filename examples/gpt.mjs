// The main job: train a small GPT on Moby-Dick, on this machine, in about five minutes.
//
//   node gpt.mjs train [--minutes 5] [--steps N] [--device auto|cuda|webgpu|cpu] [--out out/gpt]
//                      [--layers 4] [--heads 4] [--embd 128] [--context 128] [--batch-size 16]
//                      [--vocab-size 2048] [--lr 2e-3] [--seed 0] [--resume]
//   node gpt.mjs generate [--out out/gpt] [--prompt "Call me Ishmael."] [--tokens 200]
//                         [--temperature 0.8] [--top-k 40] [--seed 0] [--device ...]
//
// train: learns a byte-level BPE vocabulary on the training text (@kiln/tokenizers), trains a
// GPT-2-architecture model with AdamW, warmup + cosine lr, gradient clipping and a progress bar,
// validates on the held-out last 10% of the book against the unigram baseline of the same
// tokenizer, checkpoints atomically (--resume continues a stopped run exactly; Ctrl-C stops
// cleanly with a checkpoint), and writes the model (Hugging Face layout), the loss curve (SVG)
// and samples. generate: streams text from the saved model.
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as k from '@kiln/core';
import { Random } from '@kiln/data';
import { GPT, readCheckpointInfo, streamGenerate, Trainer } from '@kiln/models';
import { optim } from '@kiln/nn';
import { BPE, Tokenizer } from '@kiln/tokenizers';
import { selectDevice } from './lib/device.mjs';

const CORPUS = join(import.meta.dirname, 'data', 'moby-dick.txt');
const VAL_FRACTION = 0.1;
/** Seconds kept back from --minutes for saving the model and sampling at the end. */
const FINISH_RESERVE = 15;

const OPTIONS = {
  minutes: { type: 'string', default: '5' },
  steps: { type: 'string' },
  device: { type: 'string', default: 'auto' },
  out: { type: 'string', default: join(import.meta.dirname, 'out', 'gpt') },
  layers: { type: 'string', default: '4' },
  heads: { type: 'string', default: '4' },
  embd: { type: 'string', default: '128' },
  context: { type: 'string', default: '128' },
  'batch-size': { type: 'string', default: '16' },
  'vocab-size': { type: 'string', default: '2048' },
  lr: { type: 'string', default: '3e-3' },
  seed: { type: 'string', default: '0' },
  'checkpoint-every': { type: 'string', default: '100' },
  'val-every': { type: 'string', default: '100' },
  resume: { type: 'boolean', default: false },
  prompt: { type: 'string', default: 'Call me Ishmael.' },
  tokens: { type: 'string', default: '200' },
  temperature: { type: 'string', default: '0.8' },
  'top-k': { type: 'string', default: '40' },
  help: { type: 'boolean', short: 'h', default: false },
};

function number(flags, name) {
  const v = Number(flags[name]);
  if (!Number.isFinite(v)) throw new Error(`--${name} must be a number (got ${flags[name]})`);
  return v;
}

/** The book split at a line boundary: the first 90% trains, the rest validates. */
function readCorpus() {
  const text = readFileSync(CORPUS, 'utf8');
  const cut = text.indexOf('\n', Math.floor(text.length * (1 - VAL_FRACTION))) + 1;
  return { train: text.slice(0, cut), val: text.slice(cut) };
}

/** Cross-entropy (nats/token) of predicting every validation token by its training frequency. */
function unigramLoss(trainIds, valIds, vocabSize) {
  const counts = new Float64Array(vocabSize).fill(1); // add-one smoothing: no token has p = 0
  for (const id of trainIds) counts[id]++;
  const total = trainIds.length + vocabSize;
  let nll = 0;
  for (const id of valIds) nll -= Math.log(counts[id] / total);
  return nll / valIds.length;
}

/** [batch, context] token windows at random offsets; the same rng state gives the same batch. */
function randomWindows(ids, batchSize, context, rng, device) {
  const rows = new Int32Array(batchSize * context);
  for (let b = 0; b < batchSize; b++) {
    const start = rng.int(ids.length - context);
    rows.set(ids.subarray(start, start + context), b * context);
  }
  return k.fromHost(rows, [batchSize, context], 'int32', device);
}

async function train(flags) {
  const started = performance.now();
  const out = resolve(flags.out);
  const paths = {
    checkpoint: join(out, 'checkpoint.safetensors'),
    tokenizer: join(out, 'tokenizer.json'),
    model: join(out, 'model'),
    lossCurve: join(out, 'loss.svg'),
    samples: join(out, 'samples.txt'),
  };
  await mkdir(out, { recursive: true });
  const { device, release, skipped } = await selectDevice(flags.device);
  k.setDefaultDevice(device);
  console.error(`device: ${device}${skipped.length ? ` (skipped ${skipped.join('; ')})` : ''}`);

  // A resumed run takes its settings from the checkpoint, so it continues the same run.
  let settings;
  if (flags.resume) {
    settings = (await readCheckpointInfo(paths.checkpoint)).extra.user;
    console.error(`resuming ${paths.checkpoint}`);
  } else {
    settings = {
      config: {
        vocab_size: number(flags, 'vocab-size'),
        n_positions: number(flags, 'context'),
        n_embd: number(flags, 'embd'),
        n_layer: number(flags, 'layers'),
        n_head: number(flags, 'heads'),
        // Minutes of training on a megabyte of text do not overfit: no dropout.
        embd_pdrop: 0,
        attn_pdrop: 0,
        resid_pdrop: 0,
        bos_token_id: 0,
        eos_token_id: 0,
      },
      batchSize: number(flags, 'batch-size'),
      lr: number(flags, 'lr'),
      seed: number(flags, 'seed'),
    };
  }
  const { config, batchSize, lr, seed } = settings;
  const context = config.n_positions;

  const corpus = readCorpus();
  let tokenizer;
  if (flags.resume) tokenizer = await Tokenizer.fromFile(paths.tokenizer);
  else {
    const t0 = performance.now();
    tokenizer = BPE.train([corpus.train], { vocabSize: config.vocab_size, specialTokens: ['<|endoftext|>'] });
    await tokenizer.save(out);
    console.error(
      `tokenizer: byte-level BPE, ${tokenizer.vocabSize} tokens, trained in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  const trainIds = Int32Array.from(tokenizer.encode(corpus.train).ids);
  const valIds = Int32Array.from(tokenizer.encode(corpus.val).ids);
  const baseline = unigramLoss(trainIds, valIds, config.vocab_size);
  console.error(
    `data: ${trainIds.length} training tokens, ${valIds.length} validation tokens; unigram baseline ${baseline.toFixed(3)} nats/token`,
  );

  k.manualSeed(seed);
  const model = new GPT(config).to(device);
  const parameters = [...model.parameters()].reduce((n, p) => n + p.numel(), 0);
  console.error(
    `model: ${config.n_layer} layers, ${config.n_head} heads, width ${config.n_embd}, context ${context}: ${(parameters / 1e6).toFixed(2)}M parameters`,
  );
  // GPT-2/nanoGPT practice: weight decay on matrices only, not on biases, LayerNorm gains or positions.
  const decay = [];
  const noDecay = [];
  for (const [name, p] of model.namedParameters())
    (p.ndim >= 2 && name !== 'wpe.weight' ? decay : noDecay).push(p);
  const optimizer = new optim.AdamW(
    [
      { params: decay, weightDecay: 0.1 },
      { params: noDecay, weightDecay: 0 },
    ],
    { lr, betas: [0.9, 0.95] },
  );

  // Validation: the same evenly spaced windows of the held-out text every time.
  const valWindows = Math.min(32, Math.floor((valIds.length - 1) / (context + 1)));
  const stride = Math.floor((valIds.length - context - 1) / valWindows);
  const validate = async () => {
    let sum = 0;
    for (let first = 0; first < valWindows; first += batchSize) {
      const n = Math.min(batchSize, valWindows - first);
      const rows = new Int32Array(n * context);
      for (let b = 0; b < n; b++)
        rows.set(valIds.subarray((first + b) * stride, (first + b) * stride + context), b * context);
      const loss = k.tidy(() => {
        const ids = k.fromHost(rows, [n, context], 'int32', device);
        return model.forward(ids, { labels: ids }).loss.mul(n);
      });
      sum += await loss.item();
      loss.dispose();
    }
    return sum / valWindows;
  };

  const steps = flags.steps === undefined ? undefined : number(flags, 'steps');
  const budget = number(flags, 'minutes') * 60 - (performance.now() - started) / 1000 - FINISH_RESERVE;
  const trainer = new Trainer({
    model,
    optimizer,
    // Hugging Face's causal LM loss: every position predicts the next token of the window.
    loss: (ids) => model.forward(ids, { labels: ids }).loss,
    batch: (step, micro) =>
      randomWindows(trainIds, batchSize, context, new Random(seed, step * 64 + micro), device),
    steps,
    timeLimit:
      steps === undefined || flags.minutes !== OPTIONS.minutes.default ? Math.max(budget, 1) : undefined,
    maxGradNorm: 1,
    warmupSteps: 20,
    validate,
    validateEvery: number(flags, 'val-every'),
    checkpoint: paths.checkpoint,
    checkpointEvery: number(flags, 'checkpoint-every'),
    checkpointExtra: () => settings,
    lossCurve: paths.lossCurve,
    tokensPerStep: batchSize * context,
  });
  if (flags.resume) await trainer.resume(paths.checkpoint);
  const onSigint = () => {
    console.error('\nstopping after this step (Ctrl-C again to abort without a checkpoint)');
    process.off('SIGINT', onSigint);
    trainer.stop();
  };
  process.on('SIGINT', onSigint);
  const result = await trainer.fit();
  process.off('SIGINT', onSigint);

  model.tokenizer = tokenizer;
  await model.save(paths.model);
  model.eval();
  const samples = [];
  for (const prompt of ['Call me Ishmael.', 'The whale']) {
    samples.push(await sample(model, tokenizer, prompt, 100, { temperature: 0.8, topK: 40, seed, device }));
  }
  await writeFile(paths.samples, `${samples.join('\n\n---\n\n')}\n`);
  await release();

  const valLoss = result.val.at(-1)?.[1];
  console.error(
    `\nvalidation loss ${valLoss?.toFixed(3)} nats/token vs unigram baseline ${baseline.toFixed(3)} after ${result.step} steps (${result.stoppedBy === 'steps' ? 'all steps done' : `stopped by ${result.stoppedBy}`})`,
  );
  console.error(`sample:\n${samples[0]}\n`);
  console.error(
    `wrote:\n  ${paths.model}/  (the model, Hugging Face GPT-2 layout, with tokenizer.json)\n  ${paths.checkpoint}  (resume with --resume)\n  ${paths.lossCurve}\n  ${paths.samples}`,
  );
  console.error(
    `generate more: node ${join('examples', 'gpt.mjs')} generate --out ${flags.out} --prompt "Call me Ishmael."`,
  );
  console.log(
    JSON.stringify({
      device,
      parameters,
      steps: result.step,
      totalSteps: result.totalSteps,
      tokensSeen: result.step * batchSize * context,
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      valLoss,
      unigramValLoss: baseline,
      train: result.train,
      val: result.val,
    }),
  );
}

/**
 * Samples `count` tokens after `prompt`, calling onText with each new piece of text. Past the
 * model's context, generation continues from the last half-context of tokens (as nanoGPT's
 * sampler crops its input), each stretch with its own KV cache.
 */
async function sample(
  model,
  tokenizer,
  prompt,
  count,
  { temperature, topK, seed, device },
  onText = () => {},
) {
  const context = model.config.n_positions;
  const ids = Array.from(tokenizer.encode(prompt).ids);
  const promptLength = ids.length;
  let printed = '';
  for (let stretch = 0; ids.length - promptLength < count; stretch++) {
    const window = ids.length < context ? ids : ids.slice(-Math.floor(context / 2));
    const input = k.tensor([window], { dtype: 'int32', device });
    const maxNewTokens = Math.min(context - window.length, count - (ids.length - promptLength));
    for await (const { tokens } of streamGenerate(model, input, {
      maxNewTokens,
      doSample: true,
      temperature,
      topK,
      seed: seed + stretch,
    })) {
      ids.push(tokens[0]);
      // Decode the whole continuation and emit what is new: one BPE token can be part of a
      // character, so decoding token by token would garble multi-byte text.
      const text = tokenizer.decode(ids.slice(promptLength));
      if (!text.endsWith('\uFFFD')) {
        onText(text.slice(printed.length));
        printed = text;
      }
    }
    input.dispose();
  }
  return prompt + tokenizer.decode(ids.slice(promptLength));
}

async function generate(flags) {
  const { device, release } = await selectDevice(flags.device);
  const dir = join(resolve(flags.out), 'model');
  const model = await GPT.fromPretrained(dir, { device });
  if (!model.tokenizer) throw new Error(`generate: ${dir} has no tokenizer.json`);
  process.stdout.write(flags.prompt);
  const options = {
    temperature: number(flags, 'temperature'),
    topK: number(flags, 'top-k'),
    seed: number(flags, 'seed'),
    device,
  };
  await sample(model, model.tokenizer, flags.prompt, number(flags, 'tokens'), options, (text) =>
    process.stdout.write(text),
  );
  process.stdout.write('\n');
  await release();
}

const { values: flags, positionals } = parseArgs({ options: OPTIONS, allowPositionals: true });
const command = positionals[0] ?? 'train';
if (flags.help || !['train', 'generate'].includes(command)) {
  console.log(
    readFileSync(import.meta.filename, 'utf8')
      .split('\n')
      .slice(0, 8)
      .join('\n'),
  );
  process.exit(flags.help ? 0 : 1);
}
await (command === 'train' ? train(flags) : generate(flags));
