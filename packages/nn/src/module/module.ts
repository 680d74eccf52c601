// nn.Module. Parameters, buffers and submodules are found by walking the module's own enumerable
// properties in definition order. Class fields are assigned after the base constructor has run, so
// registration cannot happen there; walking on demand also follows reassignment (`this.fc = ...`)
// the way PyTorch's __setattr__ does. Parameters are tensors marked by `nn.Parameter`; buffers are
// tensors whose property name was given to `registerBuffer`; submodules are Module instances.
import * as k from '@kiln/core';
import { isParameter, markParameter, Parameter } from './parameter.js';

export type StateDict = Record<string, k.Tensor>;

export interface LoadStateDictOptions {
  /** Missing and unexpected keys are an error (default true). Shape mismatches always are. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface NamedParametersOptions {
  prefix?: string;
  /** Include parameters of submodules (default true). */
  recurse?: boolean;
  /** A tensor reachable under several names is listed once, under its first name (default true). */
  removeDuplicate?: boolean;
}

export interface StateDictOptions {
  prefix?: string;
  /** Return the parameter tensors themselves instead of detached views of them. */
  keepVars?: boolean;
}

/** A device or dtype to move a module to, as `Tensor.to` takes. */
export type ModuleTarget = k.Device | k.DType | { device?: k.Device; dtype?: k.DType };

const BUFFERS = Symbol('buffers');

interface BufferInfo {
  /** Saved in `stateDict()` and loaded by `loadStateDict()`. */
  persistent: boolean;
  /** Stays on the host ('cpu') when the module moves to another device. */
  onHost: boolean;
}

type Member =
  | { kind: 'parameter'; name: string; value: k.Tensor }
  | { kind: 'buffer'; name: string; value: k.Tensor; persistent: boolean; onHost: boolean }
  | { kind: 'module'; name: string; value: Module };

/** PyTorch's `_addindent`: indents every line but the first. */
function addIndent(s: string, spaces: number): string {
  const lines = s.split('\n');
  if (lines.length === 1) return s;
  const pad = ' '.repeat(spaces);
  return [lines[0], ...lines.slice(1).map((l) => pad + l)].join('\n');
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export class Module {
  /** Training mode (dropout active, batch norm updating its running statistics). */
  training = true;
  /** Names of registered buffers, with their persistence and placement. */
  declare private readonly [BUFFERS]: Map<string, BufferInfo>;

  constructor() {
    // A non-enumerable symbol-keyed property rather than a #private field, so deepCopy can copy it.
    Object.defineProperty(this, BUFFERS, {
      value: new Map<string, BufferInfo>(),
      enumerable: false,
      writable: false,
    });
  }

  /**
   * Runs the module. Subclasses define it with their own signature; calling the base one is an
   * error, as in PyTorch.
   */
  forward(..._args: unknown[]): unknown {
    throw new Error(`Module [${this.moduleName}] is missing the required "forward" function`);
  }

  /** The class name, as PyTorch prints it. */
  get moduleName(): string {
    return this.constructor.name || 'Module';
  }

  // ------------------------------------------------------------------ registration

  /**
   * Own members in registration order. Containers whose children live elsewhere than in plain
   * properties (ModuleDict) override this.
   */
  protected *ownMembers(): Generator<[string, unknown]> {
    for (const name of Object.keys(this)) yield [name, (this as Record<string, unknown>)[name]];
  }

  private *members(): Generator<Member> {
    for (const [name, value] of this.ownMembers()) {
      if (value instanceof Module) yield { kind: 'module', name, value };
      else if (k.isTensor(value)) {
        if (isParameter(value)) yield { kind: 'parameter', name, value };
        else {
          const info = this[BUFFERS].get(name);
          if (info) yield { kind: 'buffer', name, value, ...info };
        }
      }
    }
  }

  /** Sets (or clears, with null) a parameter under `name`, as `this.name = new nn.Parameter(t)` does. */
  registerParameter(name: string, param: k.Tensor | null): void {
    (this as Record<string, unknown>)[name] =
      param === null ? null : isParameter(param) ? param : Parameter(param);
  }

  /**
   * Registers a buffer: state that is not a parameter (batch norm's running statistics). Persistent
   * buffers are saved in `stateDict()`; buffers move with `to()`. The tensor survives `tidy`.
   */
  registerBuffer(name: string, tensor: k.Tensor | null, persistent = true): void {
    this.addBuffer('registerBuffer', name, tensor, { persistent, onHost: false });
  }

  /**
   * Registers a persistent buffer that stays on the host ('cpu') whatever device the module moves
   * to: state the layer reads synchronously, or in a dtype an accelerator may not store (batch
   * norm's int64 num_batches_tracked, which WebGPU cannot hold). It is saved and loaded like any
   * buffer, so state dicts keep PyTorch's keys and dtypes.
   */
  protected registerHostBuffer(name: string, tensor: k.Tensor | null): void {
    if (tensor !== null && tensor.device !== 'cpu')
      throw new Error(`registerHostBuffer: "${name}" must be a 'cpu' tensor (got one on '${tensor.device}')`);
    this.addBuffer('registerHostBuffer', name, tensor, { persistent: true, onHost: true });
  }

  private addBuffer(op: string, name: string, tensor: k.Tensor | null, info: BufferInfo): void {
    if (name.includes('.')) throw new Error(`${op}: buffer name can't contain "." (got "${name}")`);
    if (tensor !== null) k.keep(tensor);
    this[BUFFERS].set(name, info);
    (this as Record<string, unknown>)[name] = tensor;
  }

  /** Replaces a registered buffer's tensor (the new one survives `tidy`). */
  protected setBuffer(name: string, tensor: k.Tensor): void {
    if (!this[BUFFERS].has(name)) throw new Error(`${this.moduleName}: "${name}" is not a registered buffer`);
    (this as Record<string, unknown>)[name] = k.keep(tensor);
  }

  registerModule(name: string, module: Module | null): void {
    if (name.includes('.')) throw new Error(`registerModule: module name can't contain "." (got "${name}")`);
    (this as Record<string, unknown>)[name] = module;
  }

  /** Alias of registerModule (PyTorch's add_module). */
  addModule(name: string, module: Module | null): void {
    this.registerModule(name, module);
  }

  // ------------------------------------------------------------------ traversal

  /** Direct submodules with their names (a module registered twice is listed once). */
  *namedChildren(): Generator<[string, Module]> {
    const seen = new Set<Module>();
    for (const m of this.members()) {
      if (m.kind !== 'module' || seen.has(m.value)) continue;
      seen.add(m.value);
      yield [m.name, m.value];
    }
  }

  *children(): Generator<Module> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /**
   * This module and every submodule, depth first, with dotted names (PyTorch's named_modules). A
   * module reachable under several names is listed once unless `removeDuplicate` is false.
   */
  *namedModules(prefix = '', removeDuplicate = true): Generator<[string, Module]> {
    const memo = new Set<Module>();
    function* walk(mod: Module, name: string): Generator<[string, Module]> {
      if (removeDuplicate) {
        if (memo.has(mod)) return;
        memo.add(mod);
      }
      yield [name, mod];
      for (const m of mod.members())
        if (m.kind === 'module') yield* walk(m.value, name ? `${name}.${m.name}` : m.name);
    }
    yield* walk(this, prefix);
  }

  *modules(): Generator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Parameters with their dotted names (`layers.0.weight`); shared tensors once by default. */
  *namedParameters(options: NamedParametersOptions = {}): Generator<[string, k.Tensor]> {
    yield* this.namedTensors('parameter', options);
  }

  *parameters(recurse = true): Generator<k.Tensor> {
    for (const [, p] of this.namedParameters({ recurse })) yield p;
  }

  *namedBuffers(options: NamedParametersOptions = {}): Generator<[string, k.Tensor]> {
    yield* this.namedTensors('buffer', options);
  }

  *buffers(recurse = true): Generator<k.Tensor> {
    for (const [, b] of this.namedBuffers({ recurse })) yield b;
  }

  private *namedTensors(
    kind: 'parameter' | 'buffer',
    options: NamedParametersOptions,
  ): Generator<[string, k.Tensor]> {
    const { prefix = '', recurse = true, removeDuplicate = true } = options;
    const seen = new Set<k.Tensor>();
    const modules: Iterable<[string, Module]> = recurse
      ? this.namedModules(prefix, removeDuplicate)
      : [[prefix, this]];
    for (const [modPrefix, mod] of modules) {
      for (const m of mod.members()) {
        if (m.kind !== kind) continue;
        if (removeDuplicate) {
          if (seen.has(m.value)) continue;
          seen.add(m.value);
        }
        yield [modPrefix ? `${modPrefix}.${m.name}` : m.name, m.value as k.Tensor];
      }
    }
  }

  // ------------------------------------------------------------------ modes and gradients

  /** Sets training mode on this module and every submodule. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Calls `fn` on every submodule (children first) and then on this module, like PyTorch. */
  apply(fn: (module: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** Turns gradient tracking of every parameter on or off (freezing a module). */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /**
   * Clears parameter gradients. With `setToNone` (the default, as in torch 2.x) `.grad` becomes null
   * and the old gradient tensor is disposed; otherwise it is zeroed in place.
   */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) clearGrad(p, setToNone);
  }

  // ------------------------------------------------------------------ devices and dtypes

  /**
   * Moves parameters and buffers to a device and/or converts their floating point dtype. Unlike
   * PyTorch, which moves data in place, the tensors are replaced (the old ones are disposed), so
   * build optimizers after `to()`, as PyTorch's documentation recommends. Host buffers
   * (`registerHostBuffer`) are left as they are. Moving off a device whose reads are asynchronous
   * (WebGPU) needs `toAsync`.
   */
  to(target: ModuleTarget): this {
    const wanted = conversionFor(target);
    const moved = new Map<k.Tensor, k.Tensor>();
    for (const t of this.movableTensors())
      if (!moved.has(t))
        moved.set(
          t,
          k.noGrad(() => t.to(wanted(t))),
        );
    this.replaceTensors(moved);
    return this;
  }

  /**
   * `to()` for any pair of devices, including from an asynchronous one: `await
   * model.toAsync('cpu')` after training on WebGPU. Every tensor is read before any is replaced,
   * so a failed read leaves the module as it was.
   */
  async toAsync(target: ModuleTarget): Promise<this> {
    const wanted = conversionFor(target);
    const moved = new Map<k.Tensor, k.Tensor>();
    try {
      for (const t of this.movableTensors()) {
        if (moved.has(t)) continue;
        const { device = t.device, dtype = t.dtype } = wanted(t);
        moved.set(
          t,
          device === t.device ? k.noGrad(() => t.to({ dtype })) : await k.toDeviceAsync(t, device, dtype),
        );
      }
    } catch (e) {
      for (const [old, next] of moved) if (old !== next) next.dispose();
      throw e;
    }
    this.replaceTensors(moved);
    return this;
  }

  /** Parameters, their gradients and buffers (but host buffers) of this module and its descendants. */
  private *movableTensors(): Generator<k.Tensor> {
    for (const mod of this.modules()) {
      for (const m of mod.members()) {
        if (m.kind === 'module' || (m.kind === 'buffer' && m.onHost)) continue;
        yield m.value;
        if (m.kind === 'parameter' && m.value.grad) yield m.value.grad;
      }
    }
  }

  /** Puts the converted tensors in place of the old ones (which are disposed). */
  private replaceTensors(moved: Map<k.Tensor, k.Tensor>): void {
    for (const mod of this.modules()) {
      const self = mod as unknown as Record<string, unknown>;
      for (const m of [...mod.members()]) {
        if (m.kind === 'module') continue;
        const old = m.value;
        const next = moved.get(old) ?? old;
        if (next === old) continue;
        k.keep(next);
        if (m.kind === 'parameter') {
          next.requiresGrad_(old.requiresGrad);
          markParameter(next);
          if (old.grad) next.grad = k.keep(moved.get(old.grad) ?? old.grad);
        }
        self[m.name] = next;
      }
    }
    for (const [old, next] of moved) if (old !== next) old.dispose();
  }

  float(): this {
    return this.to({ dtype: 'float32' });
  }

  double(): this {
    return this.to({ dtype: 'float64' });
  }

  /**
   * An independent copy of this module (PyTorch's copy.deepcopy): parameters and buffers are cloned
   * (shared tensors stay shared within the copy, gradients are not copied), submodules and plain
   * data are copied recursively, functions are shared.
   */
  deepCopy(): this {
    return copyValue(this, new Map()) as this;
  }

  /**
   * Disposes every parameter (and its gradient) and buffer of this module and its submodules.
   * Parameters are exempt from `tidy`, so this is how a model's memory is released deterministically.
   */
  dispose(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.dispose();
    }
    for (const b of this.buffers()) b.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ------------------------------------------------------------------ state dicts

  /**
   * Parameters and persistent buffers by dotted name, each module's own parameters before its
   * buffers before its children, as PyTorch orders them. A module registered under two names
   * appears under both (tied weights), again as in PyTorch. Values are detached views sharing the
   * parameters' memory unless `keepVars`.
   */
  stateDict(options: StateDictOptions = {}): StateDict {
    const out: StateDict = {};
    this.collectState(options.prefix ?? '', options.keepVars ?? false, out);
    return out;
  }

  private collectState(prefix: string, keepVars: boolean, out: StateDict): void {
    const members = [...this.members()];
    for (const kind of ['parameter', 'buffer'] as const) {
      for (const m of members) {
        if (m.kind !== kind || (m.kind === 'buffer' && !m.persistent)) continue;
        const v = m.value as k.Tensor;
        out[prefix + m.name] = keepVars ? v : v.detach();
      }
    }
    for (const m of members)
      if (m.kind === 'module') m.value.collectState(`${prefix}${m.name}.`, keepVars, out);
  }

  /**
   * Called before this module's own entries are loaded, with the full state dict and this module's
   * key prefix. Lazy modules materialise their parameters here from the checkpoint's shapes.
   */
  protected prepareLoad(_stateDict: StateDict, _prefix: string): void {}

  /**
   * Copies values from `stateDict` into the parameters and persistent buffers (converting dtype and
   * device). Everything is checked before anything is written: a missing or unexpected key (with
   * `strict`, the default) or a shape mismatch is one error that lists them all, and the module is
   * left unchanged.
   */
  loadStateDict(
    stateDict: StateDict | Map<string, k.Tensor>,
    options: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const strict = options.strict ?? true;
    const sd: StateDict = stateDict instanceof Map ? Object.fromEntries(stateDict) : stateDict;
    const targets: [string, k.Tensor, k.Tensor][] = [];
    const missingKeys: string[] = [];
    const mismatches: string[] = [];
    const expected = new Set<string>();
    const visit = (mod: Module, prefix: string) => {
      mod.prepareLoad(sd, prefix);
      const members = [...mod.members()];
      for (const m of members) {
        if (m.kind === 'module' || (m.kind === 'buffer' && !m.persistent)) continue;
        const key = prefix + m.name;
        expected.add(key);
        const src = sd[key];
        if (src === undefined) {
          missingKeys.push(key);
          continue;
        }
        if (!k.isTensor(src)) {
          mismatches.push(
            `While copying the parameter named "${key}", expected a Tensor from checkpoint but received ${typeof src}.`,
          );
          continue;
        }
        if (src.shape.length !== m.value.shape.length || src.shape.some((s, i) => s !== m.value.shape[i])) {
          mismatches.push(
            `size mismatch for ${key}: copying a param with shape ${formatShape(src.shape)} from checkpoint, ` +
              `the shape in current model is ${formatShape(m.value.shape)}.`,
          );
          continue;
        }
        targets.push([key, m.value, src]);
      }
      for (const m of members) if (m.kind === 'module') visit(m.value, `${prefix}${m.name}.`);
    };
    visit(this, '');
    const unexpectedKeys = Object.keys(sd).filter((key) => !expected.has(key));
    const errors: string[] = [];
    if (strict && unexpectedKeys.length)
      errors.push(`Unexpected key(s) in state_dict: ${unexpectedKeys.map((s) => `"${s}"`).join(', ')}.`);
    if (strict && missingKeys.length)
      errors.push(`Missing key(s) in state_dict: ${missingKeys.map((s) => `"${s}"`).join(', ')}.`);
    errors.push(...mismatches);
    if (errors.length) {
      throw new Error(`Error(s) in loading state_dict for ${this.moduleName}:\n\t${errors.join('\n\t')}`);
    }
    k.noGrad(() => {
      for (const [, dst, src] of targets) dst.copy_(src);
    });
    return { missingKeys, unexpectedKeys };
  }

  // ------------------------------------------------------------------ printing

  /** The part of the printed form inside the parentheses (`in_features=20, ...`). */
  extraRepr(): string {
    return '';
  }

  /** PyTorch's module repr: the class name, extraRepr, and each child indented. */
  toString(): string {
    const extra = this.extraRepr();
    const extraLines = extra ? extra.split('\n') : [];
    const childLines: string[] = [];
    for (const m of this.members()) {
      if (m.kind === 'module') childLines.push(`(${m.name}): ${addIndent(m.value.toString(), 2)}`);
    }
    const lines = [...extraLines, ...childLines];
    let s = `${this.moduleName}(`;
    if (lines.length) {
      if (extraLines.length === 1 && childLines.length === 0) s += extraLines[0];
      else s += `\n  ${lines.join('\n  ')}\n`;
    }
    return `${s})`;
  }
}

/** The recursive step of deepCopy; `memo` maps originals to copies so sharing is preserved. */
function copyValue(v: unknown, memo: Map<object, unknown>): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (memo.has(v)) return memo.get(v);
  if (k.isTensor(v)) {
    const c = k.keep(k.noGrad(() => v.clone()));
    if (isParameter(v)) markParameter(c.requiresGrad_(v.requiresGrad));
    memo.set(v, c);
    return c;
  }
  if (v instanceof Map) {
    const c = new Map();
    memo.set(v, c);
    for (const [key, value] of v) c.set(key, copyValue(value, memo));
    return c;
  }
  if (v instanceof Set) {
    const c = new Set();
    memo.set(v, c);
    for (const value of v) c.add(copyValue(value, memo));
    return c;
  }
  if (Array.isArray(v)) {
    const c: unknown[] = [];
    memo.set(v, c);
    for (const value of v) c.push(copyValue(value, memo));
    return c;
  }
  const proto = Object.getPrototypeOf(v);
  if (!(v instanceof Module) && proto !== Object.prototype && proto !== null) return v;
  const c = Object.create(proto) as object;
  memo.set(v, c);
  for (const key of Reflect.ownKeys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, key)!;
    if ('value' in d) d.value = copyValue(d.value, memo);
    Object.defineProperty(c, key, d);
  }
  return c;
}

/** What `to(target)` asks of one tensor: the device, and the dtype for floating point tensors only. */
function conversionFor(target: ModuleTarget): (t: k.Tensor) => { device?: k.Device; dtype?: k.DType } {
  const spec =
    typeof target === 'string' ? (isDType(target) ? { dtype: target } : { device: target }) : target;
  return (t) => {
    const wanted: { device?: k.Device; dtype?: k.DType } = {};
    if (spec.device !== undefined) wanted.device = spec.device;
    if (spec.dtype !== undefined && k.isFloating(t.dtype)) wanted.dtype = spec.dtype;
    return wanted;
  };
}

function isDType(s: string): s is k.DType {
  return (k.DTYPES as readonly string[]).includes(s);
}

/** Clears one tensor's gradient: dropped (and disposed) with setToNone, else zeroed in place. */
export function clearGrad(p: k.Tensor, setToNone: boolean): void {
  const g = p.grad;
  if (g === null) return;
  if (setToNone) {
    p.grad = null;
    g.dispose();
  } else {
    k.noGrad(() => g.zero_());
  }
}
