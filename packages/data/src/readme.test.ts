// The README's examples, run as written (Fashion-MNIST from the committed subset, one epoch).
import '@kiln/backend-cpu';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { describe, expect, it } from 'vitest';
import {
  buildTranslationArray,
  Compose,
  DataLoader,
  loadFashionMNIST,
  Normalize,
  Random,
  RandomCrop,
  RandomHorizontalFlip,
  randomSplit,
  TensorDataset,
  ToTensor,
  tokenizeTranslationPairs,
  Vocab,
  withProgress,
  writeLossCurve,
} from './index.js';

const root = fileURLToPath(new URL('../test-data/fashion-mnist', import.meta.url));

describe('README examples', () => {
  it('a DataLoader over a TensorDataset', async () => {
    const x = k.randn([1000, 20]);
    const y = k.randint(0, 10, [1000]);
    const [train] = randomSplit(new TensorDataset(x, y), [0.8, 0.2], { seed: 0 });
    const loader = new DataLoader(train, { batchSize: 64, shuffle: true, seed: 42, autoDispose: true });
    const sizes: number[] = [];
    for await (const [xb, yb] of loader) {
      expect(xb.shape[1]).toBe(20);
      expect(yb.dtype).toBe('int32');
      sizes.push(xb.shape[0]);
    }
    expect(sizes.length).toBe(13);
    expect(sizes[12]).toBe(32);
  });

  it('Fashion-MNIST with a progress bar and a loss curve', async () => {
    const { images, labels, classes } = await loadFashionMNIST({ root, train: true });
    expect(classes[9]).toBe('Ankle boot');
    const x = k.tidy(() => images.float().div(255).unsqueeze(1));
    expect(x.shape).toEqual([200, 1, 28, 28]);
    const loader = new DataLoader(new TensorDataset(x, labels), { batchSize: 64, shuffle: true, seed: 0 });
    const lines: string[] = [];
    const losses: [number, number][] = [];
    const batches = withProgress(loader, {
      label: 'epoch 1/1',
      stream: { write: (s: string) => lines.push(s) },
    });
    for await (const [xb, yb] of batches) {
      const loss = 0.5;
      losses.push([losses.length, loss]);
      batches.bar.set({ loss });
      k.dispose([xb, yb]);
    }
    expect(lines.at(-1)).toMatch(/^epoch 1\/1 \|#{20}\| 4\/4 100% loss=0.5000 \|/);
    const path = join(await mkdtemp(join(tmpdir(), 'kiln-readme-')), 'loss.svg');
    await writeLossCurve(path, [{ name: 'train', points: losses }], { title: 'Fashion-MNIST', logY: true });
    expect(await readFile(path, 'utf8')).toContain('<svg');
  });

  it('augmentation and translation preprocessing', async () => {
    const { images, labels } = await loadFashionMNIST({ root, train: false });
    const rng = new Random(0);
    const augment = new Compose([
      new ToTensor(),
      new RandomCrop(28, { padding: 4, rng }),
      new RandomHorizontalFlip({ rng }),
      new Normalize([0.286], [0.353]),
    ]);
    const augmented = new TensorDataset(images, labels).map(([img, label]) => [augment.apply(img), label]);
    const [img] = augmented.get(0) as Tensor[];
    expect(img.shape).toEqual([1, 28, 28]);

    const { source, target } = tokenizeTranslationPairs('Go.\tVa !\nWow!\tÇa alors\u202f!');
    expect(source).toEqual([
      ['go', '.'],
      ['wow', '!'],
    ]);
    expect(target).toEqual([
      ['va', '!'],
      ['ca', 'alors', '!'],
    ]);
    const vocab = new Vocab(source, { minFreq: 1, reservedTokens: ['<pad>', '<bos>', '<eos>'] });
    const { tokens, validLengths } = buildTranslationArray(source, vocab, 8);
    expect(tokens.shape).toEqual([2, 8]);
    expect(validLengths.toArraySync()).toEqual([3, 3]);
  });
});
