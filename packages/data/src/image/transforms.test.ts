import '@kiln/backend-cpu';
import type { Tensor } from '@kiln/core';
import * as k from '@kiln/core';
import { describe, expect, it } from 'vitest';
import { Random } from '../random/pcg32.js';
import { Normalize } from './normalize.js';
import { RandomCrop } from './random-crop.js';
import { RandomHorizontalFlip } from './random-horizontal-flip.js';
// F.interpolate outputs from torch 1.13 (scripts/make-resize-fixtures.py, run with /usr/bin/python3).
import fixtures from './resize.fixtures.json' with { type: 'json' };
import { Resize, resize, resizeOutputSize } from './resize.js';
import { ToTensor } from './to-tensor.js';
import { Compose } from './transform.js';

const values = (t: Tensor) => Array.from(t.dataSync() as Float32Array);

describe('Resize matches PyTorch F.interpolate (antialias off)', () => {
  for (const c of fixtures.cases) {
    it(`${c.mode} [${c.shape.join(', ')}] -> ${c.size.join('x')}`, () => {
      const x = k.tensor(Float32Array.from(c.input)).reshape(c.shape);
      const y = new Resize(c.size as [number, number], {
        interpolation: c.mode as 'bilinear' | 'nearest',
      }).apply(x);
      expect(y.shape).toEqual([...c.shape.slice(0, -2), ...c.size]);
      const got = values(y);
      const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - c.output[i])), 0);
      // Same float32 weights as PyTorch; only the summation order differs.
      expect(worst).toBeLessThan(c.mode === 'nearest' ? 1e-12 : 1e-6);
    });
  }

  it("sizes by the shorter edge for a single number (torchvision's int(size * long / short))", () => {
    // 28x40 with size 14: 14 x int(14 * 40 / 28) = 14 x 20; 50x30 with size 16: int(16 * 50 / 30) = 26 x 16.
    expect(resizeOutputSize(28, 40, 14)).toEqual([14, 20]);
    expect(resizeOutputSize(50, 30, 16)).toEqual([26, 16]);
    expect(new Resize(14).apply(k.zeros([1, 28, 40])).shape).toEqual([1, 14, 20]);
  });

  it('resizes uint8 images in float32 and rounds back, as torchvision does for integer tensors', () => {
    const c = fixtures.cases[0];
    const pixels = Uint8Array.from(c.input, (v) => Math.round(v * 255));
    const x = k.tensor(pixels).reshape(c.shape);
    const y = resize(x, [3, 4]);
    expect(y.dtype).toBe('uint8');
    const reference = values(resize(x.to('float32'), [3, 4])).map(Math.round);
    expect(Array.from(y.dataSync() as ArrayLike<number>)).toEqual(reference);
  });
});

describe('ToTensor and Normalize', () => {
  it('turns HWC uint8 into CHW float32 / 255', () => {
    // 1x2 image, 3 channels: pixel (0,0) = [0, 51, 255], pixel (0,1) = [102, 153, 204].
    const hwc = k.tensor(new Uint8Array([0, 51, 255, 102, 153, 204])).reshape(1, 2, 3);
    const chw = new ToTensor().apply(hwc);
    expect(chw.shape).toEqual([3, 1, 2]);
    expect(values(chw)).toEqual([0, 102, 51, 153, 255, 204].map((v) => Math.fround(v / 255)));
    const fromHost = new ToTensor().apply({
      data: new Uint8ClampedArray([0, 51, 255, 102, 153, 204]),
      width: 2,
      height: 1,
    });
    expect(values(fromHost)).toEqual(values(chw));
    expect(new ToTensor().apply(k.zeros([28, 28], { dtype: 'uint8' })).shape).toEqual([1, 28, 28]);
  });

  it('subtracts the mean and divides by the std of each channel', () => {
    const x = k.tensor([[[1, 2]], [[3, 5]]], { dtype: 'float32' });
    const y = new Normalize([1, 3], [2, 0.5]).apply(x);
    // channel 0: (1-1)/2, (2-1)/2; channel 1: (3-3)/0.5, (5-3)/0.5
    expect(values(y)).toEqual([0, 0.5, 0, 4]);
    expect(() => new Normalize([0.5], [0])).toThrow('std evaluated to zero');
    expect(() => new Normalize([0, 0, 0], [1, 1, 1]).apply(k.zeros([2, 4, 4]))).toThrow(
      'Normalize: expected [..., 3, H, W] to match 3 channel means, got shape [2, 4, 4]',
    );
  });
});

describe('RandomCrop and RandomHorizontalFlip', () => {
  // A 1x4x5 image whose pixel (r, c) is 10r + c + 1 (so 0 only in the padding).
  const image = () =>
    k
      .tensor(
        Array.from({ length: 4 }, (_, r) => Array.from({ length: 5 }, (_, c) => 10 * r + c + 1)),
        { dtype: 'float32' },
      )
      .unsqueeze(0);

  it('crops a window of the zero-padded image at a position drawn as torch.randint(0, H - h + 1)', () => {
    const crop = new RandomCrop(4, { padding: 2, seed: 7 });
    const rng = new Random(7);
    for (let trial = 0; trial < 20; trial++) {
      const top = rng.int(4 + 4 - 4 + 1);
      const left = rng.int(5 + 4 - 4 + 1);
      const y = crop.apply(image());
      expect(y.shape).toEqual([1, 4, 4]);
      // Reference: padded pixel (r, c) is the image's (r-2, c-2) inside, 0 outside.
      const expected = [];
      for (let r = top; r < top + 4; r++) {
        for (let c = left; c < left + 4; c++) {
          const [ir, ic] = [r - 2, c - 2];
          expected.push(ir >= 0 && ir < 4 && ic >= 0 && ic < 5 ? 10 * ir + ic + 1 : 0);
        }
      }
      expect(values(y)).toEqual(expected);
    }
  });

  it('pads with [left, top, right, bottom] and fill, and pads up to the crop size with padIfNeeded', () => {
    const y = new RandomCrop([5, 6], { padding: [1, 1, 0, 0], fill: -1, seed: 1 }).apply(image());
    expect(y.toArraySync()).toEqual([
      [
        [-1, -1, -1, -1, -1, -1],
        [-1, 1, 2, 3, 4, 5],
        [-1, 11, 12, 13, 14, 15],
        [-1, 21, 22, 23, 24, 25],
        [-1, 31, 32, 33, 34, 35],
      ],
    ]);
    expect(new RandomCrop(6, { padIfNeeded: true, seed: 1 }).apply(image()).shape).toEqual([1, 6, 6]);
    expect(() => new RandomCrop(6).apply(image())).toThrow(
      'RandomCrop: required crop size (6, 6) is larger than input image size (4, 5)',
    );
  });

  it('flips the width axis with probability p', () => {
    const x = image();
    expect((new RandomHorizontalFlip({ p: 1 }).apply(x).toArraySync() as number[][][])[0][0]).toEqual([
      5, 4, 3, 2, 1,
    ]);
    expect(new RandomHorizontalFlip({ p: 0 }).apply(x)).toBe(x);
    const flip = new RandomHorizontalFlip({ seed: 3 });
    let flipped = 0;
    for (let i = 0; i < 400; i++) if (flip.apply(x) !== x) flipped++;
    // Binomial(400, 0.5): mean 200, sd 10.
    expect(Math.abs(flipped - 200)).toBeLessThan(40);
  });

  it('Compose runs the steps in order, the same for the same seed, and disposes intermediates', () => {
    const rng = () => new Random(11);
    const pipeline = (r: Random) =>
      new Compose<Tensor, Tensor>([
        new ToTensor(),
        new RandomCrop(28, { padding: 4, rng: r }),
        new RandomHorizontalFlip({ rng: r }),
        new Normalize([0.5], [0.5]),
      ]);
    const img = k.tensor(Uint8Array.from({ length: 784 }, (_, i) => i % 256)).reshape(28, 28);
    const before = k.memory().tensors;
    const a = pipeline(rng()).apply(img);
    expect(k.memory().tensors).toBe(before + 1);
    const b = pipeline(rng()).apply(img);
    expect(a.shape).toEqual([1, 28, 28]);
    expect(values(a)).toEqual(values(b));
    expect(Math.min(...values(a))).toBe(-1);
  });
});
