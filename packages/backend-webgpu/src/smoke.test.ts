import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { afterAll, expect, it } from 'vitest';
import { destroyWebGPUBackend } from './index.js';

afterAll(destroyWebGPUBackend);

it('adds on the GPU', async () => {
  await k.ready('webgpu');
  const a = k.tensor([[1, 2, 3], [4, 5, 6]], { device: 'webgpu', dtype: 'float32' });
  const b = a.T.mul(2).add(1);
  expect(await b.toArray()).toEqual([[3, 9], [5, 11], [7, 13]]);
  expect(await a.sum().item()).toBe(21);
  expect(await a.matmul(a.T).toArray()).toEqual([[14, 32], [32, 77]]);
});
