// The safety net: tensors that become unreachable without dispose() give their memory back once
// garbage collected (FinalizationRegistry). Needs --expose-gc (set in vitest.config.ts).
import * as k from '@kiln/core';
import { expect, it } from 'vitest';
import './index.js';

const gc = (globalThis as { gc?: () => void }).gc;

it('releases storages of tensors that were garbage collected without dispose()', async () => {
  expect(gc, 'vitest must run this file with --expose-gc').toBeTypeOf('function');
  const before = k.memory();
  (() => {
    for (let i = 0; i < 100; i++) k.randn([256]).mul(2);
  })();
  expect(k.memory().tensors - before.tensors).toBe(200);
  for (let attempt = 0; attempt < 50 && k.memory().tensors > before.tensors; attempt++) {
    gc!();
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(k.memory().tensors).toBe(before.tensors);
  expect(k.memory().bytes).toBe(before.bytes);
});
