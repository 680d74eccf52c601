// W1 on WebGPU: matmul [N,N] x [N,N] fp32 on Kiln's 'webgpu' device next to TF.js's WebGPU backend
// and jax-js's, all three in one child process on one adapter (src/webgpu/w1-webgpu.mjs). Without a
// GPU the adapter is SwiftShader (Vulkan on the CPU): its figures say nothing about real GPUs.
import { intList } from '../options.mjs';

/** @type {import('../workload').ExternalWorkload} */
export default {
  kind: 'external',
  id: 'W1-webgpu',
  title: 'matmul [N,N] x [N,N], fp32, on WebGPU: Kiln vs TF.js webgpu vs jax-js webgpu (same adapter)',
  script: 'bench/src/webgpu/w1-webgpu.mjs',
  options: {
    n: {
      description: 'matrix sizes (SwiftShader is slow: 2048 takes minutes)',
      default: [256, 512, 1024],
      parse: intList,
    },
  },
  args: (resultFile, options) => ['--n', /** @type {number[]} */ (options.n).join(','), '--json', resultFile],
};
