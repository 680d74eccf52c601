// W1: matmul [N,N] x [N,N], fp32, random normal inputs. Figure: GFLOP/s = 2 N^3 / s.
import * as k from '@kiln/core';
import { intList } from '../options.mjs';

/** @type {import('../workload').KilnWorkload} */
export default {
  kind: 'kiln',
  id: 'W1',
  title: 'matmul [N,N] x [N,N], fp32',
  options: {
    n: { description: 'matrix sizes', default: [256, 512, 1024, 2048], parse: intList },
  },
  cases: (options) => /** @type {number[]} */ (options.n).map((n) => ({ label: `N=${n}`, params: { n } })),
  figure: { unit: 'GFLOP/s', fromMs: (ms, params) => (2 * Number(params.n) ** 3) / (ms * 1e6) },
  limits: (limits) => (limits ? [{ label: 'fp32 peak', value: limits.fp32PeakGflops }] : []),
  torch: true,
  setup(params) {
    const n = Number(params.n);
    k.manualSeed(0);
    const a = k.randn([n, n]);
    const b = k.randn([n, n]);
    return {
      // Reading back one element forces the product without timing a 4 N^2-byte copy.
      step: () => k.matmul(a, b).slice(0, 0, 1).slice(1, 0, 1),
      dispose: () => k.dispose([a, b]),
    };
  },
};
