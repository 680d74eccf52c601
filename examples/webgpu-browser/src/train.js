// Trains a small MLP classifier on the spiral and predicts with it. Device-agnostic (the page runs
// it on 'webgpu'); every read from the device is awaited, as WebGPU requires.
import * as k from '@kiln/core';
import { F, nn, optim } from '@kiln/nn';

// One hidden layer keeps the parameter count (4 tensors) and so the optimizer's dispatches per step
// low: on a software adapter (SwiftShader) a step's cost is its dispatch count, not its FLOPs.
export const HYPER = { hidden: 128, steps: 150, lr: 0.05, logEvery: 10 };

export function makeModel(classes, hidden = HYPER.hidden) {
  return new nn.Sequential(new nn.Linear(2, hidden), new nn.ReLU(), new nn.Linear(hidden, classes));
}

/**
 * Full-batch Adam on (x, labels) for `steps` steps. The loss is read back only every `logEvery`
 * steps (a readback waits for the GPU), and `onProgress({ step, loss })` is awaited then, so the
 * page can repaint. Returns the losses read.
 */
export async function train(model, data, device, { steps, lr, logEvery }, onProgress) {
  const x = k.tensor(data.x, { device }).reshape([data.n, 2]);
  const y = k.tensor(data.labels, { device });
  const opt = new optim.Adam(model.parameters(), { lr });
  const history = [];
  for (let step = 1; step <= steps; step++) {
    const loss = k.tidy(() => {
      opt.zeroGrad();
      const l = F.crossEntropy(model.forward(x), y);
      l.backward();
      opt.step();
      return l;
    });
    if (step === 1 || step % logEvery === 0 || step === steps) {
      const value = await loss.item();
      history.push({ step, loss: value });
      await onProgress?.({ step, loss: value, history });
    }
    loss.dispose();
  }
  x.dispose();
  y.dispose();
  return history;
}

/** Predicted class of each row of `points` (row-major (x, y) pairs), read back to the host. */
export async function predict(model, points, device) {
  const classes = k.noGrad(() =>
    k.tidy(() => model.forward(k.tensor(points, { device }).reshape([points.length / 2, 2])).argmax(1)),
  );
  const out = await classes.data();
  classes.dispose();
  return out;
}

/** Class probabilities (softmax) for each row of `points`, row-major [rows, classes]. */
export async function probabilities(model, points, device) {
  const probs = k.noGrad(() =>
    k.tidy(() => k.softmax(model.forward(k.tensor(points, { device }).reshape([points.length / 2, 2])), 1)),
  );
  const out = await probs.data();
  probs.dispose();
  return out;
}

export function accuracy(predicted, labels) {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (Number(predicted[i]) === labels[i]) right++;
  return right / labels.length;
}
