// Trains an MLP and a LeNet-style CNN on Fashion-MNIST (the original IDX files, shipped in
// examples/data/fashion-mnist), with a progress bar, then reports test accuracy and writes a
// checkpoint (safetensors) and a loss curve (SVG) per model.
//
//   node fashion-mnist.mjs [--model mlp|cnn|both] [--epochs-mlp 2] [--epochs-cnn 4] [--batch 128]
//                          [--limit N] [--out out/fashion-mnist] [--seed 0]
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { DataLoader, loadFashionMNIST, ProgressBar, TensorDataset, writeLossCurve } from '@kiln/data';
import { F, nn, optim } from '@kiln/nn';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'both' },
    'epochs-mlp': { type: 'string', default: '2' },
    'epochs-cnn': { type: 'string', default: '4' },
    batch: { type: 'string', default: '128' },
    limit: { type: 'string' },
    out: { type: 'string', default: 'out/fashion-mnist' },
    seed: { type: 'string', default: '0' },
  },
});
const root = join(import.meta.dirname, 'data', 'fashion-mnist');
const seed = Number(args.seed);
k.manualSeed(seed);

/** uint8 [N, 28, 28] images -> float32 [N, 1, 28, 28], standardised with the training set's statistics. */
function prepare(split, limit) {
  return k.tidy(() => {
    const n = limit ? Math.min(limit, split.images.shape[0]) : split.images.shape[0];
    const x = split.images.slice(0, 0, n).to('float32').div(255).sub(0.286).div(0.353).reshape(n, 1, 28, 28);
    return { x, y: split.labels.slice(0, 0, n).contiguous() };
  });
}

const limit = args.limit ? Number(args.limit) : undefined;
const train = prepare(await loadFashionMNIST({ root, train: true }), limit);
const test = prepare(await loadFashionMNIST({ root, train: false }), limit);
console.log(`Fashion-MNIST: ${train.x.shape[0]} training and ${test.x.shape[0]} test images`);

const models = {
  mlp: () =>
    new nn.Sequential(
      new nn.Flatten(),
      new nn.Linear(784, 256),
      new nn.ReLU(),
      new nn.Linear(256, 256),
      new nn.ReLU(),
      new nn.Linear(256, 10),
    ),
  // Two 3x3 convolution blocks (conv, batch norm, ReLU, 2x2 max pooling), then a linear classifier.
  cnn: () =>
    new nn.Sequential(
      new nn.Conv2d(1, 16, 3, { padding: 1 }),
      new nn.BatchNorm2d(16),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Conv2d(16, 32, 3, { padding: 1 }),
      new nn.BatchNorm2d(32),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(32 * 7 * 7, 10),
    ),
};

async function accuracy(model, data) {
  model.eval();
  let correct = 0;
  const n = data.x.shape[0];
  for (let i = 0; i < n; i += 1000) {
    correct += await k.noGrad(() =>
      k.tidy(() => {
        const logits = model.forward(data.x.slice(0, i, i + 1000));
        return logits
          .argmax(1)
          .eq(data.y.slice(0, i, i + 1000))
          .sum()
          .item();
      }),
    );
  }
  return correct / n;
}

async function run(name, epochs) {
  const model = models[name]();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const loader = new DataLoader(new TensorDataset(train.x, train.y), {
    batchSize: Number(args.batch),
    shuffle: true,
    seed,
    autoDispose: true,
  });
  // Cosine decay of the learning rate over the whole run, stepped per batch.
  const schedule = new optim.lrScheduler.CosineAnnealingLR(opt, epochs * loader.length);
  const losses = [];
  const liveAtEpochEnd = [];
  let step = 0;
  const started = performance.now();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    model.train();
    const bar = new ProgressBar({
      total: loader.length,
      label: `${name} epoch ${epoch}/${epochs}`,
      unit: 'batch',
    });
    for await (const [xb, yb] of loader) {
      const loss = k.tidy(() => {
        const l = F.crossEntropy(model.forward(xb), yb);
        opt.zeroGrad();
        l.backward();
        opt.step();
        return l.itemSync();
      });
      schedule.step();
      losses.push([++step, loss]);
      bar.update(1, { loss: loss.toFixed(4) });
    }
    bar.finish();
    liveAtEpochEnd.push(k.memory().tensors);
  }
  const seconds = (performance.now() - started) / 1000;
  const acc = await accuracy(model, test);
  await mkdir(args.out, { recursive: true });
  const checkpoint = join(args.out, `${name}.safetensors`);
  await k.saveSafetensors(checkpoint, model.stateDict(), { model: name, epochs: String(epochs) });
  const curve = join(args.out, `${name}-loss.svg`);
  await writeLossCurve(curve, [{ name: `${name} training loss`, points: losses }], {
    title: `Fashion-MNIST ${name.toUpperCase()}`,
    xLabel: 'step',
    yLabel: 'cross-entropy',
  });
  console.log(
    `${name}: test accuracy ${(acc * 100).toFixed(2)}% after ${epochs} epoch(s) in ${seconds.toFixed(0)} s; ` +
      `live tensors at each epoch end: ${liveAtEpochEnd.join(', ')}`,
  );
  console.log(`  checkpoint ${checkpoint}\n  loss curve ${curve}`);
  return acc;
}

const results = {};
if (args.model === 'mlp' || args.model === 'both') results.mlp = await run('mlp', Number(args['epochs-mlp']));
if (args.model === 'cnn' || args.model === 'both') results.cnn = await run('cnn', Number(args['epochs-cnn']));
console.log(JSON.stringify({ testAccuracy: results }));
