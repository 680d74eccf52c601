// perplexity = exp(token-weighted mean next-token NLL), checked against the PyTorch loss of the
// fixture model and against per-row losses.
import '@kiln/backend-cpu';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k from '@kiln/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GPT, perplexity } from '../index.js';

const FIXTURES = fileURLToPath(new URL('../../test-fixtures/gpt2/', import.meta.url));
let model: GPT;
let inputIds: number[][];
let loss: number;

beforeAll(async () => {
  model = await GPT.fromPretrained(join(FIXTURES, 'hf'));
  ({ inputIds, loss } = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as {
    inputIds: number[][];
    loss: number;
  });
});

afterAll(() => model.dispose());

it("is exp of PyTorch's mean next-token loss on one batch", async () => {
  const ids = k.tensor(inputIds, { dtype: 'int32' });
  expect(Math.abs((await perplexity(model, [ids])) / Math.exp(loss) - 1)).toBeLessThan(1e-5);
  ids.dispose();
});

it('weights batches by their tokens; a left-padded batch scores as its rows alone', async () => {
  const rowLoss = (row: number[]) => {
    const ids = k.tensor([row], { dtype: 'int32' });
    const l = model.forward(ids, { labels: ids }).loss!.itemSync();
    ids.dispose();
    return l;
  };
  const [a, b] = inputIds;
  const short = b.slice(0, 4);
  // short row left-padded to a's length, in one batch with a
  const padded = k.tensor([a, [...new Array<number>(a.length - 4).fill(0), ...short]], { dtype: 'int32' });
  const mask = k.tensor([a.map(() => 1), [...new Array<number>(a.length - 4).fill(0), 1, 1, 1, 1]], {
    dtype: 'int32',
  });
  const expected = Math.exp((rowLoss(a) * (a.length - 1) + rowLoss(short) * 3) / (a.length - 1 + 3));
  const single = k.tensor([short], { dtype: 'int32' });
  const separate = await perplexity(model, [k.tensor([a], { dtype: 'int32' }), single]);
  expect(Math.abs(separate / expected - 1)).toBeLessThan(1e-5);
  const withPadding = await perplexity(model, [{ inputIds: padded, attentionMask: mask }]);
  expect(Math.abs(withPadding / expected - 1)).toBeLessThan(1e-5);
  k.dispose([padded, mask, single]);
});
