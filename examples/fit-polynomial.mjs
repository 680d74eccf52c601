// Fits y = a + b x + c x^2 + d x^3 to sin(x) on [-pi, pi] with autograd and plain gradient descent,
// the classic first PyTorch program, printing progress as it goes.
import '@kiln/backend-cpu';
import * as k from '@kiln/core';

k.manualSeed(0);
const x = k.linspace(-Math.PI, Math.PI, 2000);
const y = x.sin();
const coeffs = ['a', 'b', 'c', 'd'].map(() => k.randn([]).requiresGrad_());
const [a, b, c, d] = coeffs;
const lr = 1e-6;
const steps = 2000;

const start = performance.now();
for (let t = 1; t <= steps; t++) {
  const loss = k.tidy(() => {
    // y_pred = a + b x + c x^2 + d x^3
    const yPred = a
      .add(b.mul(x))
      .add(c.mul(x.pow(2)))
      .add(d.mul(x.pow(3)));
    const l = yPred.sub(y).pow(2).sum();
    l.backward();
    k.noGrad(() => {
      for (const p of coeffs) {
        p.sub_(p.grad.mul(lr));
        p.grad.zero_();
      }
    });
    return l.itemSync();
  });
  if (t % 200 === 0 || t === 1) {
    const bar = '#'.repeat(Math.round((t / steps) * 30)).padEnd(30, '.');
    console.log(
      `step ${String(t).padStart(4)}/${steps} [${bar}] loss ${loss.toFixed(4)}  live tensors ${k.memory().tensors}`,
    );
  }
}
const ms = performance.now() - start;
const fitted = coeffs.map((p) => p.itemSync());
console.log(`\nfit in ${(ms / 1000).toFixed(2)} s (${((steps * 1000) / ms).toFixed(0)} steps/s)`);
console.log(
  `y = ${fitted[0].toFixed(4)} + ${fitted[1].toFixed(4)} x + ${fitted[2].toFixed(4)} x^2 + ${fitted[3].toFixed(4)} x^3`,
);
// The least-squares cubic for sin on [-pi, pi] is about 0 + 0.857 x + 0 x^2 - 0.093 x^3.
