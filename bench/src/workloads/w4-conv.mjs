// W4: conv2d 3x3, stride 1, padding 1, input [32, 16, 32, 32] -> 32 output channels, forward and
// backward (gradients for input, weight and bias). Figure: ms per forward + backward.
import * as k from '@kiln/core';

/** @type {import('../workload').KilnWorkload} */
export default {
  kind: 'kiln',
  id: 'W4',
  title: 'conv2d 3x3 s1 p1 [32,16,32,32] -> 32 channels, forward + backward',
  options: {},
  cases: () => [{ label: '[32,16,32,32]', params: { batch: 32, cin: 16, cout: 32, size: 32 } }],
  figure: { unit: 'ms', fromMs: (ms) => ms },
  limits: () => [],
  torch: true,
  setup(params) {
    k.manualSeed(0);
    const { batch, cin, cout, size } = /** @type {Record<string, number>} */ (params);
    const x = k.randn([batch, cin, size, size]).requiresGrad_();
    const w = k.tidy(() => k.randn([cout, cin, 3, 3]).mul(0.1)).requiresGrad_();
    const b = k.randn([cout]).requiresGrad_();
    return {
      step: () => {
        const out = k.conv2d(x, w, b, { padding: 1 });
        // Every input is used, so grad() returns a tensor for each.
        return k.grad(out.sum(), [x, w, b]).map((g) => /** @type {k.Tensor} */ (g).sum());
      },
      dispose: () => {
        x.dispose();
        w.dispose();
        b.dispose();
      },
    };
  },
};
