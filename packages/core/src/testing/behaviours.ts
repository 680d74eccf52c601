// Behaviours every backend must share, beyond op values: autograd semantics and PyTorch's errors,
// views sharing storage, memory that stays flat, seeded randomness, reading values, dtype errors.
import * as k from '@kiln/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareValues, valuesOf } from './compare.js';

export function registerBehaviourTests(device: string): void {
  beforeAll(() => k.ready(device));
  const opts = { device };
  const f32 = (data: k.TensorData, requiresGrad = false) =>
    k.tensor(data, { dtype: 'float32', device, requiresGrad });
  const values = async (t: k.Tensor) => Array.from(await valuesOf(t));

  describe('autograd', () => {
    it('accumulates gradients across backward calls until zeroed', async () => {
      await k.ready(device);
      const x = f32([1, 2, 3], true);
      x.mul(x).sum().backward();
      x.mul(x).sum().backward();
      expect(await values(x.grad!)).toEqual([4, 8, 12]);
      x.grad!.zero_();
      x.mul(3).sum().backward();
      expect(await values(x.grad!)).toEqual([3, 3, 3]);
    });

    it('computes the second derivative of x^3 at 1 as 6 (createGraph)', async () => {
      const x = f32([1], true);
      const [dy] = k.grad(x.pow(3).sum(), x, { createGraph: true });
      expect(await values(dy!)).toEqual([3]);
      const [d2y] = k.grad(dy!.sum(), x);
      expect(await values(d2y!)).toEqual([6]);
    });

    it('third derivative through a composite (sin) matches -cos', async () => {
      const x = f32([0.3], true);
      const [g1] = k.grad(x.sin().sum(), x, { createGraph: true });
      const [g2] = k.grad(g1!.sum(), x, { createGraph: true });
      const [g3] = k.grad(g2!.sum(), x);
      expect(compareValues(await values(g3!), [-Math.cos(0.3)], { rtol: 1e-5, atol: 1e-6 })).toBeNull();
    });

    it('refuses to backward through a freed graph twice, and allows it with retainGraph', () => {
      const x = f32([1, 2], true);
      const y = x.exp().sum();
      y.backward(undefined, { retainGraph: true });
      y.backward();
      expect(() => y.backward()).toThrow(/backward through the graph a second time/);
    });

    it('requires an explicit gradient for non-scalar outputs', async () => {
      const x = f32([1, 2], true);
      expect(() => x.mul(2).backward()).toThrow(/grad can be implicitly created only for scalar outputs/);
      const y = x.mul(2);
      y.backward(f32([1, 0.5]));
      expect(await values(x.grad!)).toEqual([2, 1]);
    });

    it('detects an in-place write to a tensor saved for backward (version counter)', () => {
      const x = f32([1, 2, 3], true);
      const y = x.mul(2);
      const z = y.sin(); // sin saves its input y (exp would save its output, like PyTorch)
      y.add_(1);
      expect(() => z.sum().backward()).toThrow(/modified by an inplace operation/);
    });

    it('refuses in-place ops on a leaf that requires grad, but allows them under noGrad', async () => {
      const w = f32([1, 2], true);
      expect(() => w.add_(1)).toThrow(/leaf Variable that requires grad/);
      k.noGrad(() => w.sub_(f32([0.5, 0.5])));
      expect(await values(w)).toEqual([0.5, 1.5]);
    });

    it('keeps a graph through an in-place op on a non-leaf', async () => {
      const x = f32([1, 2], true);
      const y = x.mul(3);
      y.add_(1);
      y.mul_(2);
      y.sum().backward();
      expect(await values(x.grad!)).toEqual([6, 6]);
    });

    it('records nothing under noGrad and after detach', () => {
      const x = f32([1, 2], true);
      const y = k.noGrad(() => x.mul(2));
      expect(y.requiresGrad).toBe(false);
      expect(x.mul(2).detach().requiresGrad).toBe(false);
      expect(x.mul(2).gradFn).not.toBeNull();
    });

    it('grad() leaves .grad alone and reports unused inputs', async () => {
      const x = f32([1, 2], true);
      const u = f32([3], true);
      const [gx] = k.grad(x.mul(x).sum(), x);
      expect(await values(gx!)).toEqual([2, 4]);
      expect(x.grad).toBeNull();
      expect(() => k.grad(x.sum(), [x, u])).toThrow(/not have been used in the graph/);
      const [, gu] = k.grad(x.sum(), [x, u], { allowUnused: true });
      expect(gu).toBeNull();
    });

    it('retainGrad keeps a non-leaf gradient; hooks see and may replace gradients', async () => {
      const x = f32([1, 2], true);
      const h = x.mul(2);
      h.retainGrad();
      const seen: k.Tensor[] = [];
      h.registerHook((g) => {
        seen.push(k.keep(g.clone()));
        return g.mul(10);
      });
      h.sum().backward();
      expect(await Promise.all(seen.map(values))).toEqual([[1, 1]]);
      expect(await values(h.grad!)).toEqual([10, 10]);
      expect(await values(x.grad!)).toEqual([20, 20]);
    });

    it('only floating tensors can require grad; integer outputs carry no graph', () => {
      expect(() => k.tensor([1, 2], { device }).requiresGrad_()).toThrow(/floating point/);
      const x = f32([1, 2], true);
      expect(x.argmax().requiresGrad).toBe(false);
    });
  });

  describe('views share storage', () => {
    it('a write through a view is visible in the base, and the reverse', async () => {
      const base = k.zeros([3, 4], opts);
      const row = base.select(0, 1);
      row.fill_(5);
      const col = base.transpose(0, 1).slice(0, 2, 3);
      col.add_(1);
      expect(await base.toArray()).toEqual([
        [0, 0, 1, 0],
        [5, 5, 6, 5],
        [0, 0, 1, 0],
      ]);
      base.mul_(2);
      expect(await row.toArray()).toEqual([10, 10, 12, 10]);
    });

    it('view ops do not copy; view() refuses non-viewable strides where reshape() copies', () => {
      const x = k.arange(12, undefined, 1, { device }).reshape(3, 4);
      for (const v of [
        x.view(4, 3),
        x.T,
        x.permute(1, 0),
        x.unsqueeze(0),
        x.slice(1, 1),
        x.select(0, 2),
        x.expand(2, 3, 4),
        x.narrow(0, 1, 2),
      ]) {
        expect(v.storage).toBe(x.storage);
      }
      expect(() => x.T.view(12)).toThrow(/view size is not compatible/);
      expect(x.T.reshape(12).storage).not.toBe(x.storage);
    });
  });

  describe('memory', () => {
    it('a training-like loop of 1,000 steps inside tidy leaves live tensors flat', async () => {
      const w = k.randn([8, 4], opts).requiresGrad_();
      const x = k.randn([16, 8], opts);
      const target = k.randn([16, 4], opts);
      const step = () =>
        k.tidy(() => {
          const loss = x.matmul(w).sub(target).pow(2).mean();
          loss.backward();
          k.noGrad(() => w.sub_(w.grad!.mul(0.01)));
          w.grad!.zero_();
        });
      step();
      const before = k.memory();
      for (let i = 0; i < 1000; i++) step();
      const after = k.memory();
      expect(after.tensors).toBe(before.tensors);
      expect(after.byDevice[k.canonicalDevice(device)]?.bytes).toBe(
        before.byDevice[k.canonicalDevice(device)]?.bytes,
      );
    });

    it('a forward pass whose graph is never walked frees its saved tensors when disposed', () => {
      const w = k.randn([32, 32], opts).requiresGrad_();
      k.tidy(() => w.matmul(w).tanh().sum()).dispose();
      const before = k.memory();
      for (let i = 0; i < 50; i++) k.tidy(() => w.matmul(w).tanh().sum()).dispose();
      expect(k.memory().bytes).toBe(before.bytes);
    });

    it('tidy returns its result and disposes the rest; keep() and nested scopes', () => {
      const before = k.memory().tensors;
      let kept: k.Tensor | undefined;
      const out = k.tidy(() => {
        const a = k.ones([4], opts);
        kept = k.keep(a.mul(2));
        const inner = k.tidy(() => a.add(1).mul(3));
        return { result: inner.sum(), list: [a.neg()] };
      });
      expect(k.memory().tensors - before).toBe(3);
      expect(out.result.isDisposed).toBe(false);
      expect(out.list[0].isDisposed).toBe(false);
      expect(kept!.isDisposed).toBe(false);
      out.result.dispose();
      out.list[0].dispose();
      kept!.dispose();
      expect(k.memory().tensors).toBe(before);
    });

    it('an op call leaves exactly its results alive (composites dispose their intermediates)', () => {
      const a = k.randn([2, 3, 4], opts).requiresGrad_();
      const b = k.randn([4, 5], opts);
      const m = k.randn([4, 4], opts);
      const v = k.randn([4], opts);
      const cases: [string, () => unknown, number][] = [
        ['matmul (broadcast)', () => a.matmul(b), 1],
        ['einsum', () => k.einsum('bij,jk->bik', a, b), 1],
        ['repeat', () => a.repeat(2, 1, 1), 1],
        ['tril', () => m.tril(), 1],
        ['diag', () => v.diag(), 1],
        ['trace', () => m.trace(), 1],
        ['dot', () => v.dot(v), 1],
        ['outer', () => v.outer(v), 1],
        ['norm p=3', () => a.norm(3, -1), 1],
        ['std', () => a.std(1), 1],
        ['var', () => a.var(), 1],
        ['logsumexp', () => a.logsumexp(-1), 1],
        ['softmax', () => a.softmax(-1), 1],
        ['lerp', () => v.lerp(v.neg(), 0.3), 2],
        ['maskedFill', () => m.maskedFill(m.gt(0), 0), 2],
        ['flip', () => a.flip([0, 2]), 1],
        ['max(dim)', () => a.max(1), 2],
        ['topk', () => a.topk(2), 2],
        ['uniform_ (in place)', () => k.noGrad(() => m.uniform_(-1, 1)), 0],
        ['normal_ (in place)', () => k.noGrad(() => m.normal_()), 0],
        ['bernoulli_ (in place)', () => k.noGrad(() => m.bernoulli_(0.3)), 0],
      ];
      for (const [name, run, expected] of cases) {
        const before = k.memory().tensors;
        const out = run();
        expect(k.memory().tensors - before, name).toBe(expected);
        if (out instanceof k.Tensor) {
          if (out !== m) out.dispose();
        } else for (const t of Object.values(out as object)) if (t instanceof k.Tensor) t.dispose();
      }
    });

    it('async tidy owns what is made across awaits', async () => {
      // Checked on the tensors themselves: the global count may also move while awaiting, as the
      // FinalizationRegistry returns memory of tensors other code dropped.
      const made: k.Tensor[] = [];
      const r = await k.tidy(async () => {
        const a = k.ones([2], opts);
        await a.data();
        const b = a.add(1);
        await Promise.resolve();
        made.push(a, b);
        return b.mul(2);
      });
      expect(await values(r)).toEqual([4, 4]);
      expect(made.map((t) => t.isDisposed)).toEqual([true, true]);
      expect(r.isDisposed).toBe(false);
      r.dispose();
    });

    it('using-declarations dispose at the end of the block', () => {
      const before = k.memory().tensors;
      {
        using t = k.zeros([3], opts);
        expect(t.isDisposed).toBe(false);
      }
      expect(k.memory().tensors).toBe(before);
    });

    it('using a disposed tensor is a clear error', () => {
      const t = k.zeros([2], opts);
      t.dispose();
      expect(() => t.add(1)).toThrow(/used after dispose/);
    });
  });

  describe('randomness', () => {
    it('the same seed gives the same numbers; the stream matches the Philox specification', async () => {
      k.manualSeed(1234);
      const a = await values(k.rand([1000], opts));
      const b = await values(k.randn([1000], opts));
      k.manualSeed(1234);
      const a2 = await values(k.rand([1000], opts));
      const b2 = await values(k.randn([1000], opts));
      expect(a2).toEqual(a);
      expect(b2).toEqual(b);
      const refU = new Float64Array(1000);
      const refN = new Float64Array(1000);
      k.philoxFill('uniform', [1234, 0], 0, refU);
      k.philoxFill('normal', [1234, 0], 1000, refN);
      expect(compareValues(a, refU, { rtol: 0, atol: 1e-7 })).toBeNull();
      expect(compareValues(b, refN, { rtol: 1e-5, atol: 1e-5 })).toBeNull();
    });

    it('draws have the right distribution: uniform in [0,1), normal mean 0 std 1, randint in range', async () => {
      k.manualSeed(7);
      const u = await values(k.rand([20000], opts));
      expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...u)).toBeLessThan(1);
      const n = k.randn([20000], opts);
      expect(Math.abs(await n.mean().item())).toBeLessThan(0.03);
      expect(Math.abs((await n.std().item()) - 1)).toBeLessThan(0.03);
      const r = await values(k.randint(3, 9, [5000], opts));
      expect(Math.min(...r)).toBe(3);
      expect(Math.max(...r)).toBe(8);
    });

    it('multinomial samples follow the probabilities, without replacement distinct', async () => {
      k.manualSeed(3);
      const probs = k.tensor([0.1, 0.0, 0.6, 0.3], { device });
      const draws = await values(k.multinomial(probs, 4000, true));
      const freq = [0, 1, 2, 3].map((c) => draws.filter((d) => d === c).length / draws.length);
      expect(freq[1]).toBe(0);
      expect(Math.abs(freq[2] - 0.6)).toBeLessThan(0.03);
      const distinct = await values(k.multinomial(k.tensor([[0.2, 0.3, 0.5, 0.1]], { device }), 3));
      expect(new Set(distinct).size).toBe(3);
    });
  });

  describe('reading values and errors', () => {
    it('data/toArray/item read async; Sync twins agree where the device can block', async () => {
      const t = k.tensor(
        [
          [1.5, 2],
          [3, 4],
        ],
        { device },
      );
      expect(await t.toArray()).toEqual([
        [1.5, 2],
        [3, 4],
      ]);
      expect(await t.sum().item()).toBe(10.5);
      expect(Array.from(await t.data(), Number)).toEqual([1.5, 2, 3, 4]);
      let sync: number[] | undefined;
      try {
        sync = Array.from(t.dataSync() as Float32Array);
      } catch (e) {
        expect(String(e)).toMatch(/await t.data\(\)/);
      }
      if (sync) expect(sync).toEqual([1.5, 2, 3, 4]);
      await expect(t.item()).rejects.toThrow(/cannot be converted to a number/);
    });

    it('errors name the op and the shapes', () => {
      const a = k.zeros([2, 3], opts);
      const b = k.zeros([4, 5], opts);
      expect(() => a.matmul(b)).toThrow('matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 != 4)');
      expect(() => a.add(b)).toThrow(/add: shapes \[2, 3\] and \[4, 5\] cannot be broadcast/);
      expect(() => a.sum(2)).toThrow(/sum: dimension out of range/);
      expect(() => k.cat([a, b], 0)).toThrow(/cat: sizes of tensors must match/);
      expect(() => a.mean.call(k.zeros([2], { dtype: 'int32', device }))).toThrow(
        /mean\(\): could not infer output dtype/,
      );
    });

    it('type promotion follows PyTorch (int32 as the default integer)', () => {
      const i = k.tensor([1, 2], { device });
      const f = k.tensor([1.5], { device });
      expect(i.dtype).toBe('int32');
      expect(i.add(1).dtype).toBe('int32');
      expect(i.add(1.5).dtype).toBe('float32');
      expect(i.div(2).dtype).toBe('float32');
      expect(i.add(f).dtype).toBe('float32');
      expect(k.tensor([true, false], { device }).add(1).dtype).toBe('int32');
      expect(i.gt(1).dtype).toBe('bool');
      const mask = k.ones([3, 3], { dtype: 'bool', device });
      expect(mask.triu(1).dtype).toBe('bool');
      expect(mask.add(mask).dtype).toBe('bool');
    });
  });
}
