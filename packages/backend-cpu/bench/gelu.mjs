#!/usr/bin/env node
// GELU forward + backward over 2^20 float32 elements, and the other float32 transcendental unary
// kernels, on the path this process selects (KILN_CPU_NATIVE). The backward is timed both as the
// fused kernel (what `gelu`'s backward rule calls) and as the composite of elementwise ops it
// replaced, so the gain of fusing is measured beside the gain of the kernels themselves.
// Runs on the built package (dist/ and build/Release/kiln_cpu.node). Medians of --reps timed runs.
//
//   node bench/gelu.mjs [--n 1048576] [--reps 21]
import '@kiln/backend-cpu';
import * as k from '@kiln/core';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const n = arg('--n', 1 << 20);
const reps = arg('--reps', 21);

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** The backward rule gelu had before the fused kernel, op for op. */
function compositeBackward(g, x, approximate) {
  if (approximate === 'tanh') {
    const x2 = x.mul(x);
    const u = x.add(x2.mul(x).mul(0.044715)).mul(SQRT_2_OVER_PI);
    const t = u.tanh();
    const du = x2.mul(3 * 0.044715).add(1).mul(SQRT_2_OVER_PI);
    const d = t.add(1).mul(0.5).add(x.mul(0.5).mul(k.sub(1, t.mul(t))).mul(du));
    return g.mul(d);
  }
  const cdf = x.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
  const pdf = x.mul(x).mul(-0.5).exp().mul(INV_SQRT_2PI);
  return g.mul(cdf.add(x.mul(pdf)));
}

function median(fn) {
  for (let i = 0; i < 3; i++) k.tidy(fn);
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    k.tidy(fn);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const x = k.randn([n]).mul(2);
const g = k.randn([n]);
const rows = [];
for (const approximate of ['tanh', 'none']) {
  const name = approximate === 'tanh' ? "gelu('tanh')" : 'gelu()';
  rows.push([`${name} forward`, median(() => x.gelu(approximate))]);
  const xg = x.detach().requiresGrad_();
  const y = xg.gelu(approximate);
  rows.push([
    `${name} backward (autograd, one kernel)`,
    median(() => k.grad(y, xg, { gradOutputs: [g], retainGraph: true })),
  ]);
  rows.push([`${name} backward, the composite it replaced`, median(() => compositeBackward(g, x, approximate))]);
  rows.push([
    `${name} forward + backward (autograd)`,
    median(() => k.grad(xg.gelu(approximate), xg, { gradOutputs: [g] })),
  ]);
}
for (const op of ['exp', 'tanh', 'sigmoid', 'silu', 'erf', 'log']) {
  const input = op === 'log' ? x.abs().add(1e-3) : x;
  rows.push([`${op} forward`, median(() => input[op]())]);
}
console.log(`n = ${n}, KILN_CPU_NATIVE=${process.env.KILN_CPU_NATIVE ?? 'auto'}, median of ${reps}`);
for (const [label, ms] of rows) console.log(`${label.padEnd(50)} ${ms.toFixed(3)} ms`);
