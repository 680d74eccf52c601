// W5: one training step of a small GPT (GPT-2 architecture: pre-LN blocks, GELU MLP 4x, tied
// embeddings): n_layer 4, n_head 4, d_model 256, ctx 128, vocab 2048, batch 8; forward with the
// shifted cross-entropy loss, backward, AdamW update. Figure: tokens/s = batch * ctx / step time.
import * as k from '@kiln/core';
import { GPT } from '@kiln/models';
import { optim } from '@kiln/nn';

/** @type {import('../workload').KilnWorkload} */
export default {
  kind: 'kiln',
  id: 'W5',
  title: 'GPT train step (4 layers, 4 heads, d 256, ctx 128, vocab 2048, AdamW), batch 8',
  options: {},
  cases: () => [
    {
      label: 'b8 t128',
      params: { batch: 8, ctx: 128, vocab: 2048, n_embd: 256, n_layer: 4, n_head: 4 },
    },
  ],
  figure: { unit: 'tokens/s', fromMs: (ms, p) => (Number(p.batch) * Number(p.ctx) * 1000) / ms },
  limits: () => [],
  torch: true,
  setup(params) {
    k.manualSeed(0);
    const { batch, ctx, vocab, n_embd, n_layer, n_head } = /** @type {Record<string, number>} */ (params);
    const model = new GPT({
      vocab_size: vocab,
      n_positions: ctx,
      n_embd,
      n_layer,
      n_head,
      embd_pdrop: 0,
      attn_pdrop: 0,
      resid_pdrop: 0,
    });
    const opt = new optim.AdamW(model.parameters(), { lr: 3e-4 });
    const ids = k.randint(0, vocab, [batch, ctx], { dtype: 'int32' });
    const step = () => {
      const { loss } = model.forward(ids, { labels: ids });
      opt.zeroGrad();
      /** @type {k.Tensor} */ (loss).backward();
      opt.step();
      return /** @type {k.Tensor} */ (loss);
    };
    // One step up front creates AdamW's state and the gradients, which then persist: the harness
    // counts any tensor beyond them as a leak.
    k.tidy(step).dispose();
    return {
      step,
      dispose: () => {
        opt.dispose();
        model.dispose();
        ids.dispose();
      },
    };
  },
};
