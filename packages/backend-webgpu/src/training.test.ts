// An nn model moved with `model.to('webgpu')` trains like its CPU twin: the same loss step for
// step; and a long training loop in tidy leaves tensors, bytes and the buffer pool flat.
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { F, nn, optim } from '@kiln/nn';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { destroyWebGPUBackend, type WebGPUBackend } from './index.js';

beforeAll(() => k.ready('webgpu'));
afterAll(destroyWebGPUBackend);

class MLP extends nn.Module {
  hidden = new nn.Linear(20, 64);
  norm = new nn.LayerNorm(64);
  out = new nn.Linear(64, 5);
  override forward(x: k.Tensor): k.Tensor {
    return this.out.forward(F.gelu(this.norm.forward(this.hidden.forward(x))));
  }
}

function data(device: string) {
  k.manualSeed(7);
  const x = k.randn([32, 20]);
  const y = k.randint(0, 5, [32]);
  return { x: x.to(device), y: y.to(device) };
}

function model(device: string) {
  k.manualSeed(1);
  return new MLP().to(device);
}

it("model.to('webgpu') trains with AdamW and matches the CPU loss step for step", async () => {
  const losses: Record<string, number[]> = {};
  for (const device of ['cpu', 'webgpu']) {
    const m = model(device);
    const { x, y } = data(device);
    const opt = new optim.AdamW(m.parameters(), { lr: 1e-2, weightDecay: 0.01 });
    losses[device] = [];
    for (let step = 0; step < 30; step++) {
      const loss = k.tidy(() => {
        opt.zeroGrad();
        const l = F.crossEntropy(m.forward(x), y);
        l.backward();
        opt.step();
        return l;
      });
      losses[device].push(await loss.item());
      loss.dispose();
    }
  }
  expect(losses.webgpu[29]).toBeLessThan(losses.webgpu[0] * 0.5);
  for (const [i, l] of losses.webgpu.entries()) {
    expect(Math.abs(l - losses.cpu[i]), `step ${i}`).toBeLessThan(
      2e-4 * Math.max(1, Math.abs(losses.cpu[i])),
    );
  }
});

it("await model.toAsync('cpu') brings a WebGPU-trained model back: same outputs on the CPU, gradients too", async () => {
  const m = model('webgpu');
  const { x, y } = data('webgpu');
  k.tidy(() => F.crossEntropy(m.forward(x), y).backward());
  const out = k.tidy(() => m.eval().forward(x));
  const onGpu = (await out.data()) as Float32Array;
  out.dispose();
  const gradOnGpu = (await m.hidden.weight.grad!.data()) as Float32Array;
  expect(() => m.to('cpu')).toThrow(/toDeviceAsync|await/);
  await m.toAsync('cpu');
  expect([...m.parameters()].every((p) => p.device === 'cpu' && p.requiresGrad)).toBe(true);
  const onCpu = data('cpu');
  const cpu = k.tidy(() => m.forward(onCpu.x).dataSync() as Float32Array);
  onGpu.forEach((v, i) => {
    expect(cpu[i]).toBeCloseTo(v, 5);
  });
  expect(Array.from(m.hidden.weight.grad!.dataSync() as Float32Array)).toEqual(Array.from(gradOnGpu));
  k.dispose([x, y, onCpu.x, onCpu.y]);
  m.dispose();
});

/**
 * Lets the FinalizationRegistry dispose what earlier tests leaked, so that the counts below only
 * see this test's own tensors (its callbacks run as tasks after a collection).
 */
async function settle(backend: WebGPUBackend): Promise<void> {
  await backend.sync();
  (globalThis as { gc?: () => void }).gc?.();
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
}

it('1,000 training steps in tidy leave tensors, bytes and the buffer pool flat', async () => {
  const m = model('webgpu');
  const { x, y } = data('webgpu');
  const opt = new optim.AdamW(m.parameters(), { lr: 1e-3, weightDecay: 0.01 });
  const backend = x.storage.backend as WebGPUBackend;
  const step = () =>
    k.tidy(() => {
      opt.zeroGrad();
      const l = F.crossEntropy(m.forward(x), y);
      l.backward();
      opt.step();
    });
  for (let i = 0; i < 5; i++) step();
  await settle(backend);
  const before = k.memory();
  const poolBefore = backend.memoryStats!();
  for (let i = 0; i < 1000; i++) step();
  await settle(backend);
  const after = k.memory();
  const poolAfter = backend.memoryStats!();
  expect(after.tensors).toBe(before.tensors);
  expect(after.byDevice.webgpu?.bytes).toBe(before.byDevice.webgpu?.bytes);
  expect(poolAfter.allocatedBytes).toBe(poolBefore.allocatedBytes);
  // Steady state reuses pooled buffers: the pool does not grow with the number of steps.
  expect(poolAfter.pooledBytes).toBeLessThanOrEqual(poolBefore.pooledBytes * 2 + (1 << 20));
});
