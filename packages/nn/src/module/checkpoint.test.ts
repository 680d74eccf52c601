// Loading a PyTorch checkpoint: torch's state dict of a CNN (conv, batch norm with int64
// num_batches_tracked, pooling, linear) and of a small language model (embedding, transformer
// encoder layer, bidirectional LSTM, layer norm) saved as safetensors (scripts/fixtures/
// nn_checkpoint.py) loads unchanged into the same Kiln modules, which then reproduce PyTorch's
// eval-mode outputs in float32 and, converted with double(), in float64.
import { join } from 'node:path';
import * as k from '@kiln/core';
import '@kiln/backend-cpu';
import { afterAll, describe, expect, it } from 'vitest';
import { nn } from '../index.js';
import {
  type EncodedTensor,
  expectClose,
  F64,
  FIXTURE_DIR,
  readFixture,
  reportErrors,
  toTensor,
} from '../testing/fixtures.js';

class ConvNet extends nn.Module {
  features = new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1 }),
    new nn.BatchNorm2d(4),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(4, 6, 3, { groups: 2 }),
    new nn.GELU(),
    new nn.AdaptiveAvgPool2d([2, 2]),
  );
  classifier = new nn.Sequential(new nn.Flatten(), new nn.Dropout(0.2), new nn.Linear(24, 10));

  override forward(x: k.Tensor): k.Tensor {
    return this.classifier.forward(this.features.forward(x));
  }
}

class TinyLM extends nn.Module {
  embed = new nn.Embedding(20, 8, { paddingIdx: 0 });
  encoder = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0.1, batchFirst: true });
  rnn = new nn.LSTM(8, 6, { batchFirst: true, bidirectional: true });
  norm = new nn.LayerNorm(12);
  head = new nn.Linear(12, 20);

  override forward(ids: k.Tensor): k.Tensor {
    const mask = nn.Transformer.generateSquareSubsequentMask(ids.shape[1]);
    const h = this.encoder.forward(this.embed.forward(ids), { srcMask: mask });
    const [out] = this.rnn.forward(h);
    return this.head.forward(this.norm.forward(out));
  }
}

class Both extends nn.Module {
  cnn = new ConvNet();
  lm = new TinyLM();
}

interface CheckpointFixture {
  inputs: { image: EncodedTensor; ids: EncodedTensor };
  float32: { cnn: EncodedTensor; lm: EncodedTensor };
  float64: { cnn: EncodedTensor; lm: EncodedTensor };
  keys: string[];
}

const fixture = readFixture<CheckpointFixture>('checkpoint.json');
const file = join(FIXTURE_DIR, 'checkpoint.safetensors');

async function loaded(): Promise<Both> {
  const model = new Both();
  model.loadStateDict(await k.loadSafetensors(file));
  return model.eval();
}

describe('a PyTorch checkpoint saved as safetensors', () => {
  afterAll(() => reportErrors('checkpoint parity'));
  it('has exactly the keys, in the order, of the same Kiln model', () => {
    expect(Object.keys(new Both().stateDict())).toEqual(fixture.keys);
  });

  it('reproduces PyTorch outputs in float32', async () => {
    const model = await loaded();
    expect(
      model.cnn.features[1] instanceof nn.BatchNorm2d &&
        (model.cnn.features[1] as nn.BatchNorm2d).num_batches_tracked!.itemSync(),
    ).toBe(3);
    const tol = { rtol: 1e-4, atol: 1e-5 };
    k.tidy(() => {
      expectClose(
        model.cnn.forward(toTensor(fixture.inputs.image, 'float32')),
        fixture.float32.cnn,
        tol,
        'checkpoint float32 cnn',
      );
      expectClose(
        model.lm.forward(toTensor(fixture.inputs.ids)),
        fixture.float32.lm,
        tol,
        'checkpoint float32 lm',
      );
    });
  });

  it('reproduces PyTorch outputs in float64 after double()', async () => {
    const model = (await loaded()).double();
    k.tidy(() => {
      expectClose(
        model.cnn.forward(toTensor(fixture.inputs.image, 'float64')),
        fixture.float64.cnn,
        F64,
        'checkpoint float64 cnn',
      );
      expectClose(
        model.lm.forward(toTensor(fixture.inputs.ids)),
        fixture.float64.lm,
        F64,
        'checkpoint float64 lm',
      );
    });
  });

  it('round-trips through saveSafetensors', async () => {
    const model = await loaded();
    const bytes = await k.saveSafetensors(undefined, model.stateDict());
    const again = new Both();
    again.loadStateDict(await k.loadSafetensors(bytes!));
    again.eval();
    const x = toTensor(fixture.inputs.image, 'float32');
    expect(again.cnn.forward(x).dataSync()).toEqual(model.cnn.forward(x).dataSync());
  });

  it('names a missing or mis-shaped tensor when the checkpoint does not fit', async () => {
    const sd = await k.loadSafetensors(file);
    delete sd['lm.head.bias'];
    sd['cnn.classifier.2.weight'] = k.zeros([10, 25]);
    expect(() => new Both().loadStateDict(sd)).toThrow(
      /Missing key\(s\) in state_dict: "lm.head.bias"\.[\s\S]*size mismatch for cnn.classifier.2.weight: copying a param with shape \[10, 25\] from checkpoint, the shape in current model is \[10, 24\]/,
    );
  });
});
