// W7: GPT-2 byte-level BPE encode (MB/s) and BPE training (s). The tokenizers package owns the
// script and its data; the harness builds that package and runs the script.

/** @type {import('../workload').ExternalWorkload} */
export default {
  kind: 'external',
  id: 'W7',
  title: 'GPT-2 byte-level BPE encode of >= 5 MB, and BPE training of an 8192 vocab',
  script: 'packages/tokenizers/bench/w7.mjs',
  buildPackage: '@kiln/tokenizers',
  args: (resultFile) => ['--json', resultFile],
};
