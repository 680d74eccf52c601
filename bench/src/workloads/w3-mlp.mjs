// W3: one training step of an MLP 784-256-256-10 (ReLU) on a batch of 128: forward, cross-entropy,
// backward, Adam update. Figure: steps per second.
import * as k from '@kiln/core';
import { F, nn, optim } from '@kiln/nn';

/** @type {import('../workload').KilnWorkload} */
export default {
  kind: 'kiln',
  id: 'W3',
  title: 'MLP 784-256-256-10 train step (ReLU, cross-entropy, Adam), batch 128',
  options: {},
  cases: () => [{ label: 'b128', params: { batch: 128 } }],
  figure: { unit: 'steps/s', fromMs: (ms) => 1000 / ms },
  limits: () => [],
  torch: true,
  setup(params) {
    k.manualSeed(0);
    const batch = Number(params.batch);
    const model = new nn.Sequential(
      new nn.Linear(784, 256),
      new nn.ReLU(),
      new nn.Linear(256, 256),
      new nn.ReLU(),
      new nn.Linear(256, 10),
    );
    const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
    const x = k.randn([batch, 784]);
    const y = k.randint(0, 10, [batch]);
    const step = () => {
      const loss = F.crossEntropy(model.forward(x), y);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss;
    };
    // One step up front creates Adam's state and the gradients, which then persist: the harness
    // counts any tensor beyond them as a leak.
    k.tidy(step).dispose();
    return {
      step,
      dispose: () => {
        opt.dispose();
        model.dispose();
        x.dispose();
        y.dispose();
      },
    };
  },
};
