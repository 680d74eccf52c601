// RNN, GRU and LSTM with torch.nn's parameter names and layouts (weight_ih_l{k}[_reverse],
// weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}; gates stacked i,f,g,o for LSTM and r,z,n for GRU),
// so PyTorch weights load unchanged. Multi-layer, bidirectional, batchFirst, inter-layer dropout;
// the output sequence and the final state are returned. The input projection of a whole sequence
// is one matmul per layer and direction; only the hidden-to-hidden product runs per time step.
import * as k from '@kiln/core';
import { dropout } from '../functional/dropout.js';
import { linear } from '../functional/linear.js';
import { uniform_ } from '../init/init.js';
import { Module } from '../module/module.js';
import { type FactoryOptions, factory } from '../module/options.js';
import { Parameter } from '../module/parameter.js';
import { pyFloat } from '../module/repr.js';

export type RNNMode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';

export interface RNNOptions extends FactoryOptions {
  numLayers?: number;
  bias?: boolean;
  /** Input and output are [N, T, *] instead of [T, N, *]. */
  batchFirst?: boolean;
  /** Dropout on the outputs of every layer but the last (training only). */
  dropout?: number;
  bidirectional?: boolean;
}

interface CellWeights {
  wIh: k.Tensor;
  wHh: k.Tensor;
  bIh: k.Tensor | null;
  bHh: k.Tensor | null;
}

const GATES: Record<RNNMode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

abstract class RNNBase extends Module {
  readonly mode: RNNMode;
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;

  constructor(mode: RNNMode, inputSize: number, hiddenSize: number, options: RNNOptions) {
    super();
    this.mode = mode;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.numLayers = options.numLayers ?? 1;
    this.bias = options.bias ?? true;
    this.batchFirst = options.batchFirst ?? false;
    this.dropout = options.dropout ?? 0;
    this.bidirectional = options.bidirectional ?? false;
    if (!(this.dropout >= 0 && this.dropout <= 1))
      throw new RangeError(
        `${this.moduleName}: dropout should be a number in range [0, 1] representing the probability of an element being zeroed (got ${this.dropout})`,
      );
    if (!(Number.isInteger(this.numLayers) && this.numLayers >= 1))
      throw new RangeError(
        `${this.moduleName}: numLayers must be a positive integer (got ${this.numLayers})`,
      );
    const f = factory(options);
    const gate = GATES[mode] * hiddenSize;
    const self = this as unknown as Record<string, k.Tensor>;
    for (let layer = 0; layer < this.numLayers; layer++) {
      for (let dir = 0; dir < this.numDirections; dir++) {
        const inSize = layer === 0 ? inputSize : hiddenSize * this.numDirections;
        const suffix = `_l${layer}${dir === 1 ? '_reverse' : ''}`;
        self[`weight_ih${suffix}`] = Parameter(k.empty([gate, inSize], f));
        self[`weight_hh${suffix}`] = Parameter(k.empty([gate, hiddenSize], f));
        if (this.bias) {
          self[`bias_ih${suffix}`] = Parameter(k.empty([gate], f));
          self[`bias_hh${suffix}`] = Parameter(k.empty([gate], f));
        }
      }
    }
    this.resetParameters();
  }

  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** Every weight and bias ~ U(-1/sqrt(hidden), 1/sqrt(hidden)), PyTorch's default. */
  resetParameters(): void {
    const bound = this.hiddenSize > 0 ? 1 / Math.sqrt(this.hiddenSize) : 0;
    for (const p of this.parameters()) uniform_(p, -bound, bound);
  }

  protected weights(layer: number, dir: number): CellWeights {
    const self = this as unknown as Record<string, k.Tensor | undefined>;
    const suffix = `_l${layer}${dir === 1 ? '_reverse' : ''}`;
    return {
      wIh: self[`weight_ih${suffix}`]!,
      wHh: self[`weight_hh${suffix}`]!,
      bIh: self[`bias_ih${suffix}`] ?? null,
      bHh: self[`bias_hh${suffix}`] ?? null,
    };
  }

  /** One time step: the new hidden (and cell) state from the precomputed input gates `gx` [N, G]. */
  private cell(w: CellWeights, gx: k.Tensor, h: k.Tensor, c: k.Tensor | null): [k.Tensor, k.Tensor | null] {
    const gh = linear(h, w.wHh, w.bHh);
    switch (this.mode) {
      case 'RNN_TANH':
        return [gx.add(gh).tanh(), null];
      case 'RNN_RELU':
        return [gx.add(gh).relu(), null];
      case 'LSTM': {
        const [i, f, g, o] = gx.add(gh).chunk(4, 1);
        const cNext = f.sigmoid().mul(c!).add(i.sigmoid().mul(g.tanh()));
        return [o.sigmoid().mul(cNext.tanh()), cNext];
      }
      case 'GRU': {
        const [xr, xz, xn] = gx.chunk(3, 1);
        const [hr, hz, hn] = gh.chunk(3, 1);
        const r = xr.add(hr).sigmoid();
        const z = xz.add(hz).sigmoid();
        const n = xn.add(r.mul(hn)).tanh();
        // h' = (1 - z) n + z h = n + z (h - n)
        return [n.add(z.mul(h.sub(n))), null];
      }
    }
  }

  /** Runs one layer in one direction over x [T, N, In]: the outputs [T, N, H] and the final states. */
  private runDirection(
    x: k.Tensor,
    w: CellWeights,
    h0: k.Tensor,
    c0: k.Tensor | null,
    reverse: boolean,
  ): { out: k.Tensor; h: k.Tensor; c: k.Tensor | null } {
    const [steps, batch] = x.shape;
    const gates = linear(x.reshape(steps * batch, x.shape[2]), w.wIh, w.bIh).reshape(steps, batch, -1);
    let h = h0;
    let c = c0;
    const outs = new Array<k.Tensor>(steps);
    for (let s = 0; s < steps; s++) {
      const t = reverse ? steps - 1 - s : s;
      [h, c] = this.cell(w, gates.select(0, t), h, c);
      outs[t] = h;
    }
    return { out: k.stack(outs, 0), h, c };
  }

  protected checkInput(input: k.Tensor): boolean {
    if (input.ndim !== 2 && input.ndim !== 3) {
      throw new Error(
        `${this.moduleName}: Expected input to be 2D or 3D, got ${input.ndim}D tensor of shape [${input.shape.join(', ')}]`,
      );
    }
    if (input.shape[input.ndim - 1] !== this.inputSize) {
      throw new Error(
        `${this.toString()}: input.size(-1) must be equal to input_size. Expected ${this.inputSize}, got ${input.shape[input.ndim - 1]}`,
      );
    }
    return input.ndim === 3;
  }

  protected checkHidden(name: string, hx: k.Tensor, batched: boolean, batch: number): k.Tensor {
    const expected = batched
      ? [this.numLayers * this.numDirections, batch, this.hiddenSize]
      : [this.numLayers * this.numDirections, this.hiddenSize];
    if (hx.ndim !== expected.length || hx.shape.some((s, i) => s !== expected[i])) {
      throw new Error(
        `${this.toString()}: Expected ${name} size (${expected.join(', ')}), got [${hx.shape.join(', ')}]`,
      );
    }
    return batched ? hx : hx.unsqueeze(1);
  }

  /**
   * The shared forward: input in the module's layout; h0 (and c0) [L * D, N, H] in sequence-first
   * batched form. Returns the output in the input's layout and the final states [L * D, N, H].
   */
  protected run(
    input: k.Tensor,
    h0: k.Tensor | null,
    c0: k.Tensor | null,
  ): { output: k.Tensor; h: k.Tensor; c: k.Tensor | null } {
    const batched = input.ndim === 3;
    let x = batched ? (this.batchFirst ? input.transpose(0, 1) : input) : input.unsqueeze(1);
    const batch = x.shape[1];
    const states = this.numLayers * this.numDirections;
    const zeros = () =>
      k.zeros([states, batch, this.hiddenSize], { dtype: input.dtype, device: input.device });
    const hInit = h0 ?? zeros();
    const cInit = this.mode === 'LSTM' ? (c0 ?? zeros()) : null;
    const hs: k.Tensor[] = [];
    const cs: k.Tensor[] = [];
    for (let layer = 0; layer < this.numLayers; layer++) {
      const outs: k.Tensor[] = [];
      for (let dir = 0; dir < this.numDirections; dir++) {
        const idx = layer * this.numDirections + dir;
        const r = this.runDirection(
          x,
          this.weights(layer, dir),
          hInit.select(0, idx),
          cInit ? cInit.select(0, idx) : null,
          dir === 1,
        );
        outs.push(r.out);
        hs.push(r.h);
        if (r.c) cs.push(r.c);
      }
      x = outs.length === 1 ? outs[0] : k.cat(outs, 2);
      if (this.dropout > 0 && this.training && layer < this.numLayers - 1) x = dropout(x, this.dropout, true);
    }
    let output = x;
    let h = k.stack(hs, 0);
    let c = cs.length ? k.stack(cs, 0) : null;
    if (!batched) {
      output = output.squeeze(1);
      h = h.squeeze(1);
      c = c ? c.squeeze(1) : null;
    } else if (this.batchFirst) output = output.transpose(0, 1);
    return { output, h, c };
  }

  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.bias) s += ', bias=False';
    if (this.batchFirst) s += ', batch_first=True';
    if (this.dropout !== 0) s += `, dropout=${pyFloat(this.dropout)}`;
    if (this.bidirectional) s += ', bidirectional=True';
    return s;
  }
}

export interface ElmanRNNOptions extends RNNOptions {
  nonlinearity?: 'tanh' | 'relu';
}

/** Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu). */
export class RNN extends RNNBase {
  readonly nonlinearity: 'tanh' | 'relu';

  constructor(inputSize: number, hiddenSize: number, options: ElmanRNNOptions = {}) {
    const nonlinearity = options.nonlinearity ?? 'tanh';
    if (nonlinearity !== 'tanh' && nonlinearity !== 'relu')
      throw new Error(`RNN: unknown nonlinearity '${String(nonlinearity)}'. Select from 'tanh' or 'relu'.`);
    super(nonlinearity === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', inputSize, hiddenSize, options);
    this.nonlinearity = nonlinearity;
  }

  /** Returns [output, h_n]: output [T, N, D * H] (batchFirst: [N, T, D * H]), h_n [L * D, N, H]. */
  override forward(input: k.Tensor, hx?: k.Tensor | null): [k.Tensor, k.Tensor] {
    const batched = this.checkInput(input);
    const batch = batched ? input.shape[this.batchFirst ? 0 : 1] : 1;
    const h0 = hx ? this.checkHidden('hidden', hx, batched, batch) : null;
    const r = this.run(input, h0, null);
    return [r.output, r.h];
  }
}

/** GRU with torch's gate order (r, z, n) and n = tanh(W_in x + b_in + r * (W_hn h + b_hn)). */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    super('GRU', inputSize, hiddenSize, options);
  }

  override forward(input: k.Tensor, hx?: k.Tensor | null): [k.Tensor, k.Tensor] {
    const batched = this.checkInput(input);
    const batch = batched ? input.shape[this.batchFirst ? 0 : 1] : 1;
    const h0 = hx ? this.checkHidden('hidden', hx, batched, batch) : null;
    const r = this.run(input, h0, null);
    return [r.output, r.h];
  }
}

/** LSTM with torch's gate order (i, f, g, o). */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    super('LSTM', inputSize, hiddenSize, options);
  }

  /** Returns [output, [h_n, c_n]]; the initial state is [h_0, c_0] (zeros when omitted). */
  override forward(
    input: k.Tensor,
    hx?: readonly [k.Tensor, k.Tensor] | null,
  ): [k.Tensor, [k.Tensor, k.Tensor]] {
    const batched = this.checkInput(input);
    const batch = batched ? input.shape[this.batchFirst ? 0 : 1] : 1;
    const h0 = hx ? this.checkHidden('hidden[0]', hx[0], batched, batch) : null;
    const c0 = hx ? this.checkHidden('hidden[1]', hx[1], batched, batch) : null;
    const r = this.run(input, h0, c0);
    return [r.output, [r.h, r.c!]];
  }
}
