// The registry: every workload `pnpm bench` knows, in the order it runs them. See README.md,
// "Adding a workload".
import w1 from './w1-matmul.mjs';
import w1webgpu from './w1-webgpu.mjs';
import w2 from './w2-elementwise.mjs';
import w3 from './w3-mlp.mjs';
import w4 from './w4-conv.mjs';
import w5 from './w5-gpt-train.mjs';
import w6 from './w6-gpt-decode.mjs';
import w7 from './w7-tokenizers.mjs';
import w8 from './w8-seq2seq.mjs';

/** @type {import('../workload').Workload[]} */
export const WORKLOADS = [w1, w1webgpu, w2, w3, w4, w5, w6, w7, w8];
