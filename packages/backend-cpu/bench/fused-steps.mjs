#!/usr/bin/env node
// The fused layer-norm, cross-entropy and Adam kernels against core's formulas from primitives (what runs when a
// backend's `fused` lacks them), on the path this process selects (KILN_CPU_NATIVE), in one
// process with the two variants interleaved rep by rep, so both see the same machine load:
//   - layerNorm forward + backward on [2048, 256] (weight and bias), float32
//   - crossEntropyRows forward + backward on [2048, 2048] float32 logits (every 8th row ignored,
//     label smoothing 0.1)
//   - one AdamW step over 2^20 float32 parameters
//   - a GPT training step (4 layers, 4 heads, d_model 128, ctx 128, vocab 2048, batch 16, AdamW)
// Medians of --reps (GPT: --gpt-reps) timed runs after two warm-ups. Runs on the built packages.
//
//   node bench/fused-steps.mjs [--reps 21] [--gpt-reps 7] [--no-gpt]
import { createCpuBackend } from '@kiln/backend-cpu';
import * as k from '@kiln/core';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const reps = arg('--reps', 21);
const gptReps = arg('--gpt-reps', 7);

// One backend instance whose fused slots are switched between the variants.
const backend = createCpuBackend();
k.registerBackend('cpu', () => backend);
const withFused = { ...backend.fused };
const NEW = ['layerNorm', 'layerNormBackward', 'crossEntropy', 'crossEntropyBackward', 'adamStep'];
function variant(fused) {
  for (const key of NEW) {
    if (fused) backend.fused[key] = withFused[key];
    else delete backend.fused[key];
  }
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Times `step` under both variants, alternating; returns the medians in ms. */
function compare(label, makeStep, n) {
  const steps = {};
  for (const fused of [false, true]) {
    variant(fused);
    steps[fused] = makeStep();
    for (let i = 0; i < 2; i++) steps[fused].run();
  }
  const times = { false: [], true: [] };
  for (let i = 0; i < n; i++) {
    for (const fused of [false, true]) {
      variant(fused);
      const t0 = now();
      steps[fused].run();
      times[fused].push(now() - t0);
    }
  }
  for (const fused of [false, true]) steps[fused].dispose?.();
  const [before, after] = [median(times.false), median(times.true)];
  console.log(
    `${label.padEnd(44)} primitives ${before.toFixed(2).padStart(8)} ms   fused ${after.toFixed(2).padStart(8)} ms   ${(before / after).toFixed(2)}x`,
  );
}

const path = process.env.KILN_CPU_NATIVE === '0' ? 'TypeScript kernels' : 'native addon (when it loads)';
console.log(`path: ${path}; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ')}`);

k.manualSeed(0);
compare(
  'layerNorm fwd+bwd [2048, 256] float32',
  () => {
    const x = k.randn([2048, 256]).requiresGrad_(true);
    const w = k.randn([256]).requiresGrad_(true);
    const b = k.randn([256]).requiresGrad_(true);
    const g = k.randn([2048, 256]);
    return {
      run: () => k.tidy(() => k.grad(k.layerNorm(x, [256], w, b).mul(g).sum(), [x, w, b])).forEach((t) => t?.dispose()),
      dispose: () => k.dispose([x, w, b, g]),
    };
  },
  reps,
);

compare(
  'crossEntropyRows fwd+bwd [2048, 2048] float32',
  () => {
    const x = k.randn([2048, 2048]).requiresGrad_(true);
    const t = k.tensor(
      Array.from({ length: 2048 }, (_, i) => (i % 8 === 7 ? -100 : (i * 7919) % 2048)),
      { dtype: 'int32' },
    );
    return {
      run: () =>
        k
          .tidy(() => k.grad(k.crossEntropyRows(x, t, { labelSmoothing: 0.1 }).sum(), [x]))
          .forEach((g) => g?.dispose()),
      dispose: () => k.dispose([x, t]),
    };
  },
  reps,
);

compare(
  'AdamW step, 2^20 float32 parameters',
  () => {
    const p = k.randn([1 << 20]);
    const g = k.randn([1 << 20]);
    const m = k.zeros([1 << 20]);
    const v = k.zeros([1 << 20]);
    let step = 0;
    const hyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true };
    return {
      run: () => k.adamStep_(p, g, m, v, { ...hyper, step: ++step }),
      dispose: () => k.dispose([p, g, m, v]),
    };
  },
  reps,
);

if (!process.argv.includes('--no-gpt')) {
  // Imported here: @kiln/models and @kiln/nn are not dependencies of this package, so --no-gpt runs
  // where they do not resolve.
  const { GPT } = await import('@kiln/models');
  const { optim } = await import('@kiln/nn');
  const [batch, ctx] = [16, 128];
  compare(
    `GPT train step d128 L4 H4 ctx${ctx} b${batch} (AdamW)`,
    () => {
      k.manualSeed(0);
      const model = new GPT({
        vocab_size: 2048,
        n_positions: ctx,
        n_embd: 128,
        n_layer: 4,
        n_head: 4,
        embd_pdrop: 0,
        attn_pdrop: 0,
        resid_pdrop: 0,
      });
      const opt = new optim.AdamW(model.parameters(), { lr: 3e-4 });
      const ids = k.randint(0, 2048, [batch, ctx], { dtype: 'int32' });
      return {
        run: () =>
          k
            .tidy(() => {
              const { loss } = model.forward(ids, { labels: ids });
              opt.zeroGrad();
              loss.backward();
              opt.step();
              return loss;
            })
            .dispose(),
        dispose: () => {
          opt.dispose();
          model.dispose();
          ids.dispose();
        },
      };
    },
    gptReps,
  );
}
