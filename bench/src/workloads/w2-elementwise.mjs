// W2: y = relu(x * 2 + 1).sum() over 2^22 fp32 values, forward only. Figures: ms, and GB/s of the
// 16 MiB that x occupies (the bytes any implementation must read at least once).
import * as k from '@kiln/core';

const NUMEL = 1 << 22;
const BYTES = NUMEL * 4;

/** @type {import('../workload').KilnWorkload} */
export default {
  kind: 'kiln',
  id: 'W2',
  title: 'relu(x*2+1).sum() over 2^22 fp32 (forward)',
  options: {},
  cases: () => [{ label: '2^22', params: { numel: NUMEL } }],
  figure: { unit: 'GB/s', fromMs: (ms) => BYTES / (ms * 1e6) },
  limits: (limits) =>
    limits
      ? [
          { label: 'DRAM read BW', value: limits.readBandwidthGBs },
          // membw.c's "W2 fused C kernel": the same sum as one pass in C, over the same warm buffer.
          { label: 'fused C loop', value: BYTES / (limits.w2FusedCMs * 1e6) },
        ]
      : [],
  torch: true,
  setup(params) {
    k.manualSeed(0);
    const x = k.randn([Number(params.numel)]);
    return {
      step: () => x.mul(2).add(1).relu().sum(),
      dispose: () => x.dispose(),
    };
  },
};
