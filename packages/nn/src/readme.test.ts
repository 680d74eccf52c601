// The README's example, kept runnable: the MLP from API.md trains a few steps and its loss falls.
import * as k from '@kiln/core';
import '@kiln/backend-cpu';
import { expect, it } from 'vitest';
import { F, nn, optim } from './index.js';

class MLP extends nn.Module {
  hidden = new nn.Linear(20, 256);
  out = new nn.Linear(256, 10);
  override forward(x: k.Tensor) {
    return this.out.forward(F.relu(this.hidden.forward(x)));
  }
}

it('the README example trains: the loss falls and memory stays flat', () => {
  k.manualSeed(0);
  const model = new MLP();
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
  const x = k.randn([64, 20]);
  const y = k.randint(0, 10, [64]);
  const losses: number[] = [];
  let live = 0;
  for (let step = 0; step < 5; step++) {
    const loss = k.tidy(() => {
      opt.zeroGrad();
      const loss = F.crossEntropy(model.forward(x), y);
      loss.backward();
      opt.step();
      return loss.itemSync();
    });
    losses.push(loss);
    if (step === 1) live = k.memory().tensors;
  }
  expect(losses[4]).toBeLessThan(losses[0]);
  expect(k.memory().tensors).toBe(live);
  expect(model.toString()).toBe(
    'MLP(\n  (hidden): Linear(in_features=20, out_features=256, bias=True)\n  (out): Linear(in_features=256, out_features=10, bias=True)\n)',
  );
});
