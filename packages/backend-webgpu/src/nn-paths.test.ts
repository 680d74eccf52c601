// @kiln/nn paths that used to read values back synchronously, run on 'webgpu' and compared with the
// same code on the CPU: oneHot (numClasses given; inferred only where reads can block), BatchNorm
// with momentum null and its int64 num_batches_tracked (a host buffer) through training, state dicts
// and loading, orthogonal_ (sampled and factorised on the host), and clipGradNorm_ (scaled on the
// device, the norm returned as a tensor).
import '@kiln/backend-cpu';
import * as k from '@kiln/core';
import { assertClose, FLOAT32_TOL, valuesOf } from '@kiln/core/testing';
import { F, init, nn, optim } from '@kiln/nn';
import { afterAll, describe, expect, it } from 'vitest';
import { destroyWebGPUBackend } from './index.js';

// The tests need a WebGPU adapter (SwiftShader where there is no GPU; see vitest.config.ts). Only
// its absence skips them, with the reason in the suite's name; any other start-up failure fails.
const noAdapter = await k.ready('webgpu').then(
  () => null,
  (e: Error) => {
    if (/no GPU adapter/.test(e.message)) return e.message;
    throw e;
  },
);
afterAll(destroyWebGPUBackend);

const DEVICES = ['cpu', 'webgpu'] as const;

/** `n` batches [rows, 3] drawn on the CPU from one seed, each with its own per-channel offset. */
function batches(n: number, rows = 8): k.Tensor[] {
  k.manualSeed(11);
  return Array.from({ length: n }, (_, i) =>
    k
      .randn([rows, 3])
      .mul(i + 1)
      .add(k.tensor([i, -2 * i, 0.5])),
  );
}

describe.skipIf(noAdapter !== null)(
  noAdapter ? `nn on WebGPU (skipped: ${noAdapter})` : 'nn on WebGPU',
  () => {
    describe('oneHot', () => {
      it('with numClasses runs on webgpu and matches the CPU', async () => {
        const labels = [
          [0, 3],
          [2, 1],
        ];
        const cpu = F.oneHot(k.tensor(labels), 5);
        const gpu = F.oneHot(k.tensor(labels, { device: 'webgpu' }), 5);
        expect(gpu.device).toBe('webgpu');
        expect(gpu.dtype).toBe(cpu.dtype);
        expect(gpu.shape).toEqual([2, 2, 5]);
        expect(await gpu.toArray()).toEqual(await cpu.toArray());
      });

      it('without numClasses infers max + 1 on the CPU; on webgpu it raises an error naming the op, the device and numClasses', () => {
        expect(F.oneHot(k.tensor([1, 3])).shape).toEqual([2, 4]);
        expect(() => F.oneHot(k.tensor([1, 3], { device: 'webgpu' }))).toThrow(
          /^oneHot: inferring numClasses \(max \+ 1\) needs a value read back from device 'webgpu', which cannot be read synchronously; pass numClasses/,
        );
      });
    });

    describe('BatchNorm with momentum null (cumulative moving average)', () => {
      it('matches the CPU step for step, and the running statistics are the averages of the batch statistics', async () => {
        const xs = batches(4);
        const cpu = new nn.BatchNorm1d(3, { momentum: null });
        const gpu = new nn.BatchNorm1d(3, { momentum: null }).to('webgpu');
        for (const [i, x] of xs.entries())
          await assertClose(gpu.forward(x.to('webgpu')), cpu.forward(x), FLOAT32_TOL, `training output ${i}`);
        expect(gpu.running_mean!.device).toBe('webgpu');
        // The count is a host buffer: int64 (which WebGPU cannot store), on the CPU, read without a wait.
        expect(gpu.num_batches_tracked!.device).toBe('cpu');
        expect(gpu.num_batches_tracked!.dtype).toBe('int64');
        expect(gpu.num_batches_tracked!.itemSync()).toBe(4);
        // factor 1/n from 0 (mean) and from 1 (variance, unbiased) is the plain average over batches.
        const meanOfMeans = k.stack(xs.map((x) => x.mean(0))).mean(0);
        const meanOfVars = k.stack(xs.map((x) => x.var(0))).mean(0);
        await assertClose(gpu.running_mean!, meanOfMeans, FLOAT32_TOL, 'running_mean');
        await assertClose(gpu.running_var!, meanOfVars, FLOAT32_TOL, 'running_var');
        await assertClose(gpu.running_mean!, cpu.running_mean!, FLOAT32_TOL, 'running_mean vs CPU');
        await assertClose(gpu.running_var!, cpu.running_var!, FLOAT32_TOL, 'running_var vs CPU');
        const probe = xs[0];
        await assertClose(
          gpu.eval().forward(probe.to('webgpu')),
          cpu.eval().forward(probe),
          FLOAT32_TOL,
          'eval output',
        );
      });

      it('state dicts keep PyTorch keys and dtypes (int64 count), and a loaded count carries on the average', async () => {
        const xs = batches(5);
        const cpu = new nn.BatchNorm1d(3, { momentum: null });
        for (const x of xs.slice(0, 3)) cpu.forward(x);
        const gpu = new nn.BatchNorm1d(3, { momentum: null }).to('webgpu');
        gpu.loadStateDict(cpu.stateDict());
        expect(gpu.num_batches_tracked!.itemSync()).toBe(3);
        for (const x of xs.slice(3)) {
          await assertClose(gpu.forward(x.to('webgpu')), cpu.forward(x), FLOAT32_TOL, 'output after loading');
        }
        const meanOfMeans = k.stack(xs.map((x) => x.mean(0))).mean(0);
        await assertClose(gpu.running_mean!, meanOfMeans, FLOAT32_TOL, 'running_mean over all 5 batches');
        await assertClose(gpu.running_var!, cpu.running_var!, FLOAT32_TOL, 'running_var vs CPU');

        const sd = gpu.stateDict();
        const cpuSd = cpu.stateDict();
        expect(Object.keys(sd)).toEqual([
          'weight',
          'bias',
          'running_mean',
          'running_var',
          'num_batches_tracked',
        ]);
        expect(Object.keys(sd)).toEqual(Object.keys(cpuSd));
        for (const key of Object.keys(sd)) expect(sd[key].dtype, key).toBe(cpuSd[key].dtype);
        // As a checkpoint file: num_batches_tracked is an I64 scalar, as torch.save writes it.
        const bytes = await k.saveSafetensors(undefined, sd);
        const saved = await k.loadSafetensors(bytes!);
        expect(saved.num_batches_tracked.dtype).toBe('int64');
        expect(saved.num_batches_tracked.shape).toEqual([]);
        expect(saved.num_batches_tracked.itemSync()).toBe(5);
        await assertClose(saved.running_mean, cpu.running_mean!, FLOAT32_TOL, 'saved running_mean');
      });
    });

    it('a Conv2d + BatchNorm2d model moved to webgpu trains like its CPU twin and comes back with toAsync', async () => {
      const make = (device: string) => {
        k.manualSeed(5);
        return new nn.Sequential(
          new nn.Conv2d(2, 4, 3, { padding: 1 }),
          new nn.BatchNorm2d(4),
          new nn.ReLU(),
          new nn.Flatten(),
          new nn.Linear(4 * 5 * 5, 3),
        ).to(device);
      };
      k.manualSeed(6);
      const x = k.randn([6, 2, 5, 5]);
      const y = k.tensor([0, 1, 2, 0, 1, 2]);
      const losses: Record<string, number[]> = { cpu: [], webgpu: [] };
      const models: Record<string, nn.Sequential> = {};
      for (const device of DEVICES) {
        const m = make(device);
        const opt = new optim.SGD(m.parameters(), { lr: 0.05, momentum: 0.9 });
        const [xd, yd] = [x.to(device), y.to(device)];
        for (let step = 0; step < 5; step++) {
          const loss = k.tidy(() => {
            opt.zeroGrad();
            const l = F.crossEntropy(m.forward(xd) as k.Tensor, yd);
            l.backward();
            opt.step();
            return l;
          });
          losses[device].push(await loss.item());
          loss.dispose();
        }
        models[device] = m;
      }
      for (const [i, l] of losses.webgpu.entries())
        expect(Math.abs(l - losses.cpu[i]), `step ${i}`).toBeLessThan(
          1e-4 * Math.max(1, Math.abs(losses.cpu[i])),
        );
      const bn = models.webgpu[1] as nn.BatchNorm2d;
      expect(bn.num_batches_tracked!.itemSync()).toBe(5);
      const back = await models.webgpu.toAsync('cpu');
      await assertClose(
        back.eval().forward(x) as k.Tensor,
        models.cpu.eval().forward(x) as k.Tensor,
        FLOAT32_TOL,
        'eval output back on the CPU',
      );
    });

    it("orthogonal_ fills a webgpu tensor with the CPU's matrix for the same seed: orthonormal rows or columns times gain", async () => {
      for (const shape of [
        [4, 9],
        [6, 2, 2],
      ]) {
        const out: Record<string, k.Tensor> = {};
        for (const device of DEVICES) {
          k.manualSeed(3);
          out[device] = init.orthogonal_(k.empty(shape, { device }), 2);
        }
        await assertClose(out.webgpu, out.cpu, FLOAT32_TOL, `orthogonal_ [${shape}]`);
        const w = out.webgpu.reshape(shape[0], -1);
        const gram = shape[0] < w.shape[1] ? w.matmul(w.T) : w.T.matmul(w);
        const n = Math.min(...w.shape);
        await assertClose(gram, k.eye(n).mul(4), FLOAT32_TOL, `W W^T of [${shape}]`);
      }
    });

    describe('clipGradNorm_', () => {
      const withGrads = (device: string) => {
        k.manualSeed(9);
        const a = k.randn([3, 4]).requiresGrad_();
        const b = k.randn([5]).requiresGrad_();
        a.grad = k.randn([3, 4]).mul(3).to(device);
        b.grad = k.randn([5]).to(device);
        return [a, b].map((p) => {
          const onDevice = p.detach().to(device).requiresGrad_();
          onDevice.grad = p.grad;
          return onDevice;
        });
      };

      it('scales on the device and returns the norm as a tensor there; values match the CPU for the 2-norm and the max norm', async () => {
        for (const normType of [2, Number.POSITIVE_INFINITY]) {
          for (const maxNorm of [0.5, 1e3]) {
            const cpu = withGrads('cpu');
            const gpu = withGrads('webgpu');
            const flat = k.cat(cpu.map((p) => p.grad!.reshape(-1)));
            const expected = normType === 2 ? flat.square().sum().sqrt() : flat.abs().max();
            const cpuNorm = nn.utils.clipGradNorm_(cpu, maxNorm, { normType });
            const gpuNorm = nn.utils.clipGradNorm_(gpu, maxNorm, { normType });
            const what = `normType ${normType}, maxNorm ${maxNorm}`;
            expect(gpuNorm.device).toBe('webgpu');
            await assertClose(gpuNorm, expected, FLOAT32_TOL, `${what}: norm`);
            await assertClose(gpuNorm, cpuNorm, FLOAT32_TOL, `${what}: norm vs CPU`);
            for (const [i, p] of gpu.entries()) {
              expect(p.grad!.device).toBe('webgpu');
              await assertClose(p.grad!, cpu[i].grad!, FLOAT32_TOL, `${what}: grad ${i}`);
            }
            const clipped = k.cat(gpu.map((p) => p.grad!.reshape(-1)));
            const after = (
              await valuesOf(normType === 2 ? clipped.square().sum().sqrt() : clipped.abs().max())
            )[0];
            expect(after).toBeLessThanOrEqual(Math.min(maxNorm, (await valuesOf(expected))[0]) * (1 + 1e-5));
          }
        }
      });

      it('with errorIfNonfinite on webgpu raises an error saying to check the norm asynchronously, leaving the gradients as they were', async () => {
        const gpu = withGrads('webgpu');
        const before = await Promise.all(gpu.map((p) => valuesOf(p.grad!)));
        expect(() => nn.utils.clipGradNorm_(gpu, 0.5, { errorIfNonfinite: true })).toThrow(
          /^clipGradNorm_: errorIfNonfinite needs a value read back from device 'webgpu', which cannot be read synchronously; leave it off and check the returned norm with `await norm.item\(\)`/,
        );
        expect(await Promise.all(gpu.map((p) => valuesOf(p.grad!)))).toEqual(before);
      });
    });
  },
);
