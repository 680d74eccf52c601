// W6: GPT-2 small's shape (12 layers, 12 heads, d 768, vocab 50257, ctx 1024) with random
// weights, batch 1: greedy decoding of 64 new tokens after a 32-token prompt, with the key/value
// cache, in eval mode (GPT.generate). Figure: new tokens/s. Building the 124M-parameter model is
// setup, not timed. Fewer repetitions than WORKLOADS.md's default (see `policy`).
import * as k from '@kiln/core';
import { GPT } from '@kiln/models';

/** @type {import('../workload').KilnWorkload} */
export default {
  kind: 'kiln',
  id: 'W6',
  title: 'GPT-2 small (random weights) greedy decode with KV cache, batch 1, prompt 32',
  options: {},
  cases: () => [
    {
      label: '+64 tok',
      params: {
        prompt: 32,
        new_tokens: 64,
        vocab: 50257,
        n_positions: 1024,
        n_embd: 768,
        n_layer: 12,
        n_head: 12,
      },
    },
  ],
  figure: { unit: 'new tok/s', fromMs: (ms, p) => (Number(p.new_tokens) * 1000) / ms },
  limits: () => [],
  torch: true,
  // A repetition takes seconds on either side: 1 warm-up and 3 timed runs (median of 3) keep the
  // workload to about a minute per system on a quiet machine, and a 150 s box (not 90) leaves room
  // for all 4 when the machine is busy. --warmups / --min-reps / --max-case-s override.
  policy: { warmups: 1, minReps: 3, maxCaseSeconds: 150 },
  // The one-thread TypeScript kernels take ~2 s a token here (minutes a repetition): native only,
  // unless --kiln names ts.
  kilnPaths: ['native'],
  setup(params) {
    k.manualSeed(0);
    const p = /** @type {Record<string, number>} */ (params);
    const model = new GPT({
      vocab_size: p.vocab,
      n_positions: p.n_positions,
      n_embd: p.n_embd,
      n_layer: p.n_layer,
      n_head: p.n_head,
      embd_pdrop: 0,
      attn_pdrop: 0,
      resid_pdrop: 0,
    }).eval();
    const prompt = k.randint(0, p.vocab, [1, p.prompt], { dtype: 'int32' });
    return {
      // [1, prompt + new] token ids: generate reads each step's token back itself.
      step: () => model.generate(prompt, { maxNewTokens: p.new_tokens }),
      dispose: () => {
        model.dispose();
        prompt.dispose();
      },
    };
  },
};
