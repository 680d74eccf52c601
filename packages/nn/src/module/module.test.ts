// nn.Module behaviour: registration by property assignment, PyTorch names and printing (checked
// against torch for a nested model), sharing, freezing, buffers, state dicts and their errors,
// modes, apply, to(), zeroGrad, containers, and memory across tidy scopes.
import * as k from '@kiln/core';
import '@kiln/backend-cpu';
import { describe, expect, it } from 'vitest';
import { F, nn, optim } from '../index.js';
import { readFixture } from '../testing/fixtures.js';

const nested = readFixture<{
  nested: { repr: string; stateDictKeys: string[]; parameterNames: string[]; moduleNames: string[] };
}>('layers.json').nested;

class Net extends nn.Module {
  features = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Dropout(0.1));
  blocks = new nn.ModuleList<nn.TensorModule>([new nn.LayerNorm(8), new nn.Linear(8, 8, { bias: false })]);
  heads = new nn.ModuleDict({ cls: new nn.Linear(8, 3), reg: new nn.Linear(8, 1) });
  bn = new nn.BatchNorm1d(8);
  act = new nn.GELU();

  override forward(x: k.Tensor): k.Tensor {
    let h = this.features.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    return this.heads.get('cls')!.forward(this.act.forward(this.bn.forward(h)));
  }
}

class MLP extends nn.Module {
  hidden = new nn.Linear(20, 16);
  out = new nn.Linear(16, 10);
  override forward(x: k.Tensor): k.Tensor {
    return this.out.forward(F.relu(this.hidden.forward(x)));
  }
}

describe('registration and names', () => {
  it('registers properties in declaration order with the names and printed tree torch gives the same model', () => {
    const net = new Net();
    expect(net.toString()).toBe(nested.repr);
    expect(Object.keys(net.stateDict())).toEqual(nested.stateDictKeys);
    expect([...net.namedParameters()].map(([n]) => n)).toEqual(nested.parameterNames);
    expect([...net.namedModules()].map(([n]) => n)).toEqual(nested.moduleNames);
    expect([...net.namedChildren()].map(([n]) => n)).toEqual(['features', 'blocks', 'heads', 'bn', 'act']);
  });

  it('follows reassignment and ignores plain values', () => {
    const m = new MLP();
    (m as unknown as Record<string, unknown>).note = 'text';
    m.out = new nn.Linear(16, 4);
    expect(m.out.weight.shape).toEqual([4, 16]);
    expect(Object.keys(m.stateDict())).toEqual(['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']);
  });

  it('makes parameters with new nn.Parameter or nn.Parameter(), recognised by instanceof', () => {
    const p = new nn.Parameter(k.zeros([2, 3]));
    const q = nn.Parameter(k.ones([2]), false);
    expect(p.requiresGrad).toBe(true);
    expect(q.requiresGrad).toBe(false);
    expect(p instanceof nn.Parameter).toBe(true);
    expect(k.zeros([2]) instanceof nn.Parameter).toBe(false);
    const nonLeaf = k.ones([2], { requiresGrad: true }).mul(2);
    expect(nn.Parameter(nonLeaf).isLeaf).toBe(true);
  });

  it('counts a module used twice once, and keeps both names in the state dict (tied weights)', () => {
    class Tied extends nn.Module {
      enc = new nn.Linear(3, 3);
      dec = this.enc;
    }
    const t = new Tied();
    expect([...t.parameters()].length).toBe(2);
    expect([...t.modules()].length).toBe(2);
    expect(Object.keys(t.stateDict())).toEqual(['enc.weight', 'enc.bias', 'dec.weight', 'dec.bias']);
    expect([...t.namedParameters({ removeDuplicate: false })].map(([n]) => n)).toEqual([
      'enc.weight',
      'enc.bias',
      'dec.weight',
      'dec.bias',
    ]);
  });

  it('counts a shared parameter once across modules', () => {
    const a = new nn.Linear(4, 4);
    const b = new nn.Linear(4, 4);
    b.weight = a.weight;
    const seq = new nn.Sequential(a, b);
    expect([...seq.parameters()].length).toBe(3);
  });

  it('keeps parameters and buffers alive when built inside tidy', () => {
    const m = k.tidy(() => new nn.BatchNorm1d(3));
    expect(m.weight!.isDisposed).toBe(false);
    expect(m.running_mean!.isDisposed).toBe(false);
    m.forward(k.randn([4, 3]));
  });

  it('saves persistent buffers only', () => {
    class WithBuffers extends nn.Module {
      constructor() {
        super();
        this.registerBuffer('kept', k.ones([2]));
        this.registerBuffer('scratch', k.zeros([2]), false);
      }
    }
    const m = new WithBuffers();
    expect(Object.keys(m.stateDict())).toEqual(['kept']);
    expect([...m.namedBuffers()].map(([n]) => n)).toEqual(['kept', 'scratch']);
  });

  it('says a module without forward is missing it', () => {
    expect(() => new nn.Module().forward()).toThrow(
      /Module \[Module\] is missing the required "forward" function/,
    );
  });
});

describe('state dicts', () => {
  it('round-trips through loadStateDict', () => {
    const a = new MLP();
    const b = new MLP();
    b.loadStateDict(a.stateDict());
    const x = k.randn([2, 20]);
    expect(b.forward(x).dataSync()).toEqual(a.forward(x).dataSync());
  });

  it('lists missing and unexpected keys and shape mismatches in one error, and changes nothing', () => {
    const m = new MLP();
    const before = m.hidden.weight.dataSync().slice();
    const sd = m.stateDict();
    const bad: Record<string, k.Tensor> = { ...sd, 'hidden.weight': k.zeros([16, 19]), extra: k.zeros([1]) };
    delete bad['out.bias'];
    let message = '';
    try {
      m.loadStateDict({ ...bad, 'hidden.bias': k.zeros([16]) });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('Error(s) in loading state_dict for MLP:');
    expect(message).toContain('Missing key(s) in state_dict: "out.bias".');
    expect(message).toContain('Unexpected key(s) in state_dict: "extra".');
    expect(message).toContain(
      'size mismatch for hidden.weight: copying a param with shape [16, 19] from checkpoint, the shape in current model is [16, 20].',
    );
    expect(m.hidden.weight.dataSync()).toEqual(before);
    expect(m.hidden.bias!.dataSync().every((v) => v === 0)).toBe(false);
  });

  it('with strict: false reports missing and unexpected keys instead of failing, but not shape mismatches', () => {
    const m = new MLP();
    const sd = m.stateDict();
    const { 'out.bias': _dropped, ...partial } = sd;
    const result = m.loadStateDict({ ...partial, stray: k.zeros([1]) }, { strict: false });
    expect(result).toEqual({ missingKeys: ['out.bias'], unexpectedKeys: ['stray'] });
    expect(() => m.loadStateDict({ 'hidden.weight': k.zeros([3, 3]) }, { strict: false })).toThrow(
      /size mismatch for hidden.weight/,
    );
  });

  it('converts dtype on load and returns detached views (keepVars returns the parameters)', () => {
    const m = new nn.Linear(2, 2);
    m.loadStateDict({
      weight: k.ones([2, 2], { dtype: 'float64' }),
      bias: k.zeros([2], { dtype: 'float64' }),
    });
    expect(m.weight.dtype).toBe('float32');
    expect(m.weight.dataSync()).toEqual(new Float32Array([1, 1, 1, 1]));
    expect(m.stateDict().weight.requiresGrad).toBe(false);
    expect(m.stateDict({ keepVars: true }).weight).toBe(m.weight);
  });

  it('materialises a LazyLinear from the checkpoint shapes', () => {
    const src = new nn.Linear(7, 3);
    const lazy = new nn.LazyLinear(3);
    expect(lazy.hasUninitializedParams).toBe(true);
    lazy.loadStateDict(src.stateDict());
    expect(lazy.inFeatures).toBe(7);
    const x = k.randn([2, 7]);
    expect(lazy.forward(x).dataSync()).toEqual(src.forward(x).dataSync());
  });
});

describe('modes, gradients and devices', () => {
  it('train() and eval() reach every submodule', () => {
    const net = new Net();
    net.eval();
    expect([...net.modules()].every((m) => !m.training)).toBe(true);
    net.train();
    expect([...net.modules()].every((m) => m.training)).toBe(true);
  });

  it('apply() visits children before their parent', () => {
    const seen: string[] = [];
    new MLP().apply((m) => seen.push(m.moduleName));
    expect(seen).toEqual(['Linear', 'Linear', 'MLP']);
  });

  it('freezes a submodule with requiresGrad_(false)', () => {
    const m = new MLP();
    m.hidden.requiresGrad_(false);
    F.crossEntropy(m.forward(k.randn([4, 20])), k.tensor([1, 2, 3, 4])).backward();
    expect(m.hidden.weight.grad).toBeNull();
    expect(m.out.weight.grad).not.toBeNull();
  });

  it('zeroGrad sets gradients to null by default, or zeroes them in place', () => {
    const m = new MLP();
    m.forward(k.randn([2, 20]))
      .sum()
      .backward();
    const g = m.out.weight.grad!;
    m.zeroGrad(false);
    expect(m.out.weight.grad).toBe(g);
    expect(g.dataSync().every((v) => v === 0)).toBe(true);
    m.zeroGrad();
    expect(m.out.weight.grad).toBeNull();
  });

  it('to(dtype) converts floating parameters and buffers but not integer buffers', () => {
    const net = new Net().to('float64');
    expect([...net.parameters()].every((p) => p.dtype === 'float64' && p.requiresGrad)).toBe(true);
    expect(net.bn.running_mean!.dtype).toBe('float64');
    expect(net.bn.num_batches_tracked!.dtype).toBe('int64');
    const y = net.forward(k.randn([3, 4], { dtype: 'float64' }));
    expect(y.dtype).toBe('float64');
    expect(net.to('cpu').bn.weight!.device).toBe('cpu');
  });

  it('leaves host buffers as they are under to() and toAsync(), and saves, loads and copies them like buffers', async () => {
    class WithHostBuffer extends nn.Module {
      declare scale: k.Tensor;
      declare hostScale: k.Tensor;
      constructor() {
        super();
        this.registerBuffer('scale', k.ones([2]));
        this.registerHostBuffer('hostScale', k.ones([2]));
      }
    }
    const m = new WithHostBuffer();
    const host = m.hostScale;
    expect(Object.keys(m.stateDict())).toEqual(['scale', 'hostScale']);
    m.to('float64');
    expect(m.scale.dtype).toBe('float64');
    expect(m.hostScale).toBe(host);
    await m.toAsync('cpu');
    expect(m.hostScale).toBe(host);
    m.loadStateDict({ scale: k.zeros([2]), hostScale: k.tensor([7, 8]) });
    expect(m.hostScale.toArraySync()).toEqual([7, 8]);
    const copy = m.deepCopy().to('float64');
    expect(copy.hostScale).not.toBe(host);
    expect(copy.hostScale.dtype).toBe('float32');
  });
});

describe('containers', () => {
  it('Sequential chains its modules and indexes them', () => {
    const seq = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
    expect(seq.length).toBe(3);
    expect(seq[2]).toBe(seq.at(-1));
    expect(seq.forward(k.randn([5, 3])).shape).toEqual([5, 2]);
    seq.append(new nn.Tanh());
    expect(seq.length).toBe(4);
    expect(Object.keys(seq.stateDict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
  });

  it('named Sequential keeps the given names, including ones that are method names', () => {
    const seq = new nn.Sequential(
      new Map<string, nn.TensorModule>([
        ['train', new nn.Linear(2, 2)],
        ['1', new nn.ReLU()],
      ]),
    );
    expect([...seq.namedChildren()].map(([n]) => n)).toEqual(['train', '1']);
    expect(typeof seq.train).toBe('function');
  });

  it('ModuleList inserts and ModuleDict keeps insertion order', () => {
    const list = new nn.ModuleList([new nn.Linear(1, 1), new nn.Linear(2, 2)]);
    list.insert(0, new nn.Linear(3, 3));
    expect([...list].map((l) => (l as nn.Linear).inFeatures)).toEqual([3, 1, 2]);
    expect(Object.keys(list.stateDict())[0]).toBe('0.weight');
    const dict = new nn.ModuleDict({ b: new nn.ReLU(), a: new nn.Tanh() });
    dict.set('2', new nn.SiLU());
    expect([...dict.keys()]).toEqual(['b', 'a', '2']);
  });
});

describe('errors name the module', () => {
  it('a wrong input width to Linear', () => {
    expect(() => new nn.Linear(20, 16).forward(k.randn([4, 19]))).toThrow(
      'Linear(in_features=20, out_features=16, bias=True): expected input with last dimension 20, got shape [4, 19]',
    );
  });

  it('a wrong rank or channel count to BatchNorm', () => {
    expect(() => new nn.BatchNorm2d(3).forward(k.randn([2, 3, 4]))).toThrow(
      /BatchNorm2d\(3, .*\): expected 4D input \(got 3D input/,
    );
    expect(() => new nn.BatchNorm1d(3).forward(k.randn([2, 4]))).toThrow(/expected 3 channels in dim 1/);
    expect(() => new nn.BatchNorm1d(3).forward(k.randn([1, 3]))).toThrow(
      /expected more than 1 value per channel when training/,
    );
  });

  it('a wrong normalized shape to LayerNorm', () => {
    expect(() => new nn.LayerNorm(5).forward(k.randn([2, 4]))).toThrow(
      /given normalized_shape=\[5\], expected input with shape \[\*, 5\], but got input of size \[2, 4\]/,
    );
  });

  it('an optimizer with no parameters, or bad hyperparameters', () => {
    expect(() => new optim.SGD([], { lr: 0.1 })).toThrow('SGD: optimizer got an empty parameter list');
    expect(() => new optim.Adam(new nn.Identity().parameters())).toThrow(
      'Adam: optimizer got an empty parameter list',
    );
    const p = [...new nn.Linear(2, 2).parameters()];
    expect(() => new optim.SGD(p, { lr: -1 })).toThrow(/Invalid learning rate: -1/);
    expect(() => new optim.SGD(p, { lr: 0.1, nesterov: true })).toThrow(
      /Nesterov momentum requires a momentum and zero dampening/,
    );
    expect(() => new optim.Adam([{ params: [p[0]] }, { params: p }])).toThrow(
      /some parameters appear in more than one parameter group/,
    );
  });
});

describe('training memory', () => {
  it('dispose() releases every parameter, gradient and buffer', () => {
    const before = k.memory().tensors;
    const net = new Net();
    k.tidy(() =>
      net
        .forward(k.randn([4, 4]))
        .sum()
        .backward(),
    );
    net.dispose();
    expect(net.bn.weight!.isDisposed).toBe(true);
    expect(k.memory().tensors).toBe(before);
  });

  it('an MLP training step with Adam inside tidy leaves the live tensor count flat', () => {
    const m = new MLP();
    const opt = new optim.Adam(m.parameters(), { lr: 1e-3 });
    const x = k.randn([8, 20]);
    const y = k.randint(0, 10, [8]);
    const step = () =>
      k.tidy(() => {
        opt.zeroGrad();
        const loss = F.crossEntropy(m.forward(x), y);
        loss.backward();
        opt.step();
      });
    step();
    const live = k.memory().tensors;
    for (let i = 0; i < 20; i++) step();
    expect(k.memory().tensors).toBe(live);
  });
});
