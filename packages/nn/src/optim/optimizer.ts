// The Optimizer base: parameter groups with per-group hyperparameters, per-parameter state, and
// a step that runs without autograd inside one tidy scope, so the temporaries of an update are
// freed at once and only the state tensors (kept) outlive it.
import * as k from '@kiln/core';
import { clearGrad } from '../module/module.js';

/** Per-parameter optimizer state: tensors (moment estimates, buffers) and numbers (step counts). */
export type ParamState = Record<string, k.Tensor | number>;

/** A parameter group: its parameters, its hyperparameters, and whatever schedulers add (initialLr, ...). */
export type ParamGroup<H> = H & { params: k.Tensor[]; initialLr?: number; [extra: string]: unknown };

/** What the constructor takes per group: parameters plus any hyperparameters that override the defaults. */
export type ParamGroupInput<H> = Partial<H> & { params: Iterable<k.Tensor> };

export type ParamsInput<H> = Iterable<k.Tensor> | readonly ParamGroupInput<H>[];

export interface OptimizerStateDict {
  /** State by parameter index (indices count parameters across groups, in order). */
  state: Record<number, ParamState>;
  /** Hyperparameters per group, with `params` as parameter indices. */
  paramGroups: Record<string, unknown>[];
}

export interface ZeroGradOptions {
  /** Set `.grad` to null (and dispose it) instead of zeroing it; default true, as in torch 2.x. */
  setToNone?: boolean;
}

function isGroupList<H>(params: ParamsInput<H>): params is readonly ParamGroupInput<H>[] {
  return Array.isArray(params) && params.length > 0 && !k.isTensor(params[0]);
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly defaults: H;
  readonly paramGroups: ParamGroup<H>[] = [];
  readonly state = new Map<k.Tensor, ParamState>();
  private readonly name: string;

  constructor(name: string, params: ParamsInput<H>, defaults: H) {
    this.name = name;
    this.defaults = defaults;
    if (k.isTensor(params)) {
      throw new TypeError(
        `${name}: params argument given to the optimizer should be an iterable of Tensors or of parameter groups, but got a Tensor`,
      );
    }
    const groups: ParamGroupInput<H>[] = isGroupList(params)
      ? [...params]
      : [{ params: params as Iterable<k.Tensor> } as ParamGroupInput<H>];
    const materialised = groups.map((g) => ({ ...g, params: [...g.params] }));
    if (materialised.every((g) => g.params.length === 0))
      throw new Error(`${name}: optimizer got an empty parameter list`);
    for (const g of materialised) this.addParamGroup(g);
  }

  /** Adds a group; hyperparameters it does not set take the optimizer's defaults. */
  addParamGroup(group: ParamGroupInput<H>): void {
    const params = [...group.params];
    params.forEach((p, i) => {
      if (!k.isTensor(p))
        throw new TypeError(`${this.name}: parameter ${i} of a group is not a Tensor (got ${typeof p})`);
      if (!p.isLeaf)
        throw new Error(
          `${this.name}: can't optimize a non-leaf Tensor (parameter ${i} of shape [${p.shape.join(', ')}])`,
        );
    });
    if (new Set(params).size !== params.length)
      throw new Error(`${this.name}: a parameter group contains the same parameter more than once`);
    const existing = new Set(this.paramGroups.flatMap((g) => g.params));
    if (params.some((p) => existing.has(p)))
      throw new Error(`${this.name}: some parameters appear in more than one parameter group`);
    const full = { ...this.defaults, ...group, params } as ParamGroup<H>;
    this.validate(full);
    this.paramGroups.push(full);
  }

  /** Checks a group's hyperparameters (negative learning rate, ...) with PyTorch's messages. */
  protected validate(group: ParamGroup<H>): void {
    if (!(group.lr >= 0)) throw new RangeError(`${this.name}: Invalid learning rate: ${group.lr}`);
  }

  /** Clears the gradients of every optimised parameter. */
  /** Frees the optimizer's state tensors (moments, momentum buffers) and its parameters' gradients. */
  dispose(): void {
    this.disposeState();
    this.zeroGrad({ setToNone: true });
  }

  private disposeState(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (k.isTensor(v)) v.dispose();
    this.state.clear();
  }

  zeroGrad(options: ZeroGradOptions = {}): void {
    const setToNone = options.setToNone ?? true;
    for (const g of this.paramGroups) for (const p of g.params) clearGrad(p, setToNone);
  }

  /**
   * Performs one update of every parameter that has a gradient. A closure, if given, is run first
   * with autograd on (to re-evaluate the loss) and its result returned.
   */
  step<R = void>(closure?: () => R): R | undefined {
    const loss = closure ? k.enableGrad(closure) : undefined;
    k.noGrad(() =>
      k.tidy(() => {
        for (const group of this.paramGroups) this.updateGroup(group);
      }),
    );
    return loss;
  }

  /** Applies the update rule to the parameters of one group (runs under noGrad and tidy). */
  protected abstract updateGroup(group: ParamGroup<H>): void;

  /** The state of `p`, created by `init` on first use; tensors made by `init` are kept. */
  protected stateOf(p: k.Tensor, init: () => ParamState): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = init();
      for (const v of Object.values(s)) if (k.isTensor(v)) k.keep(v);
      this.state.set(p, s);
    }
    return s;
  }

  /** The gradient to use for `p` (negated when maximising), or null when it has none. */
  protected gradOf(p: k.Tensor, maximize: boolean): k.Tensor | null {
    const g = p.grad;
    if (g === null) return null;
    return maximize ? g.neg() : g;
  }

  /** State and hyperparameters, parameters referred to by index (PyTorch's layout, camelCase keys). */
  stateDict(): OptimizerStateDict {
    const index = new Map<k.Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      return {
        ...hyper,
        params: params.map((p) => {
          if (!index.has(p)) index.set(p, index.size);
          return index.get(p)!;
        }),
      };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[i] = { ...s };
    }
    return { state, paramGroups };
  }

  /**
   * Restores hyperparameters and state saved by `stateDict()` for the same parameter layout. State
   * tensors are copied onto each parameter's device (floating ones in its dtype).
   */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const saved = stateDict.paramGroups;
    if (saved.length !== this.paramGroups.length) {
      throw new Error(
        `${this.name}.loadStateDict: loaded state dict has ${saved.length} parameter groups, the optimizer has ${this.paramGroups.length}`,
      );
    }
    const byIndex = new Map<number, k.Tensor>();
    saved.forEach((g, gi) => {
      const ids = g.params as number[];
      const ours = this.paramGroups[gi].params;
      if (!Array.isArray(ids) || ids.length !== ours.length) {
        throw new Error(
          `${this.name}.loadStateDict: loaded state dict contains a parameter group that doesn't match the size of optimizer's group (group ${gi}: ${Array.isArray(ids) ? ids.length : '?'} vs ${ours.length} parameters)`,
        );
      }
      ids.forEach((id, j) => {
        byIndex.set(id, ours[j]);
      });
    });
    for (const [id, s] of Object.entries(stateDict.state)) {
      const p = byIndex.get(Number(id));
      if (!p)
        throw new Error(
          `${this.name}.loadStateDict: state for parameter index ${id} has no matching parameter`,
        );
      for (const [key, v] of Object.entries(s)) {
        if (k.isTensor(v) && v.ndim > 0 && (v.ndim !== p.ndim || v.shape.some((d, i) => d !== p.shape[i]))) {
          throw new Error(
            `${this.name}.loadStateDict: state "${key}" of parameter ${id} has shape [${v.shape.join(', ')}], the parameter has [${p.shape.join(', ')}]`,
          );
        }
      }
    }
    this.disposeState();
    for (const [id, s] of Object.entries(stateDict.state)) {
      const p = byIndex.get(Number(id))!;
      const copy: ParamState = {};
      for (const [key, v] of Object.entries(s)) {
        copy[key] = k.isTensor(v)
          ? k.keep(
              k.noGrad(() =>
                k.tidy(() =>
                  v.to({ device: p.device, dtype: k.isFloating(v.dtype) ? p.dtype : v.dtype }).clone(),
                ),
              ),
            )
          : v;
      }
      this.state.set(p, copy);
    }
    saved.forEach((g, gi) => {
      const { params: _ids, ...hyper } = g;
      Object.assign(this.paramGroups[gi], hyper);
    });
  }
}
