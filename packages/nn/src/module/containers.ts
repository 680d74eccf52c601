// Sequential, ModuleList and ModuleDict. Their children live in an ordered Map rather than in
// plain properties, so a child named like a method ('train', 'forward') cannot shadow it and
// insertion order is kept for every key (plain objects put integer-like keys first). Lists and
// Sequential also answer `seq[0]`, through index getters kept in step with the Map.
import type * as k from '@kiln/core';
import { Module } from './module.js';

/** A module whose forward maps one tensor to one tensor: what Sequential chains. */
export interface TensorModule extends Module {
  forward(x: k.Tensor): k.Tensor;
}

abstract class OrderedContainer extends Module {
  protected readonly entries = new Map<string, Module>();
  private indexed = 0;

  protected override *ownMembers(): Generator<[string, unknown]> {
    yield* this.entries;
    yield* super.ownMembers();
  }

  get length(): number {
    return this.entries.size;
  }

  /** Defines `this[i]` getters for 0..length-1 (non-enumerable, so traversal ignores them). */
  protected syncIndices(): void {
    for (let i = this.indexed; i < this.entries.size; i++) {
      // A getter reading its receiver (not a closure over this instance), so deepCopy can copy it.
      Object.defineProperty(this, i, {
        get(this: OrderedContainer) {
          return [...this.entries.values()][i];
        },
        configurable: true,
        enumerable: false,
      });
    }
    for (let i = this.entries.size; i < this.indexed; i++)
      delete (this as unknown as Record<number, unknown>)[i];
    this.indexed = this.entries.size;
  }

  protected indexOf(op: string, idx: number): number {
    const n = this.entries.size;
    if (!Number.isInteger(idx) || idx < -n || idx >= n)
      throw new RangeError(`${this.moduleName}.${op}: index ${idx} is out of range (length ${n})`);
    return idx < 0 ? idx + n : idx;
  }
}

function checkModule(owner: string, name: string, m: unknown): Module {
  if (!(m instanceof Module))
    throw new TypeError(`${owner}: ${name} is not a Module (got ${m === null ? 'null' : typeof m})`);
  return m;
}

/** Runs modules in order, feeding each one's output to the next. */
export class Sequential extends OrderedContainer {
  readonly [index: number]: TensorModule;

  /** `new Sequential(a, b, c)` names children 0, 1, 2; a Map gives them names. */
  constructor(...modules: TensorModule[] | [Map<string, TensorModule>]) {
    super();
    const first = modules[0];
    if (modules.length === 1 && first instanceof Map) {
      for (const [name, m] of first) this.entries.set(name, checkModule('Sequential', `"${name}"`, m));
    } else {
      (modules as TensorModule[]).forEach((m, i) => {
        this.entries.set(String(i), checkModule('Sequential', `argument ${i}`, m));
      });
    }
    this.syncIndices();
  }

  override forward(x: k.Tensor): k.Tensor {
    for (const m of this.entries.values()) x = (m as TensorModule).forward(x);
    return x;
  }

  /** The child at position `idx` (negative counts from the end). */
  at(idx: number): TensorModule {
    return [...this.entries.values()][this.indexOf('at', idx)] as TensorModule;
  }

  append(module: TensorModule): this {
    this.entries.set(String(this.entries.size), checkModule('Sequential.append', 'argument', module));
    this.syncIndices();
    return this;
  }

  [Symbol.iterator](): IterableIterator<TensorModule> {
    return (this.entries.values() as IterableIterator<TensorModule>)[Symbol.iterator]();
  }
}

/** A list of submodules, registered as `name.0`, `name.1`, ... */
export class ModuleList<M extends Module = Module> extends OrderedContainer {
  readonly [index: number]: M;

  constructor(modules: Iterable<M> = []) {
    super();
    this.extend(modules);
  }

  at(idx: number): M {
    return [...this.entries.values()][this.indexOf('at', idx)] as M;
  }

  append(module: M): this {
    this.entries.set(String(this.entries.size), checkModule('ModuleList.append', 'argument', module));
    this.syncIndices();
    return this;
  }

  extend(modules: Iterable<M>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  insert(index: number, module: M): this {
    const list = [...this.entries.values()];
    const i = index < 0 ? Math.max(0, index + list.length) : Math.min(index, list.length);
    list.splice(i, 0, checkModule('ModuleList.insert', 'argument', module));
    this.entries.clear();
    list.forEach((m, j) => {
      this.entries.set(String(j), m);
    });
    this.syncIndices();
    return this;
  }

  [Symbol.iterator](): IterableIterator<M> {
    return (this.entries.values() as IterableIterator<M>)[Symbol.iterator]();
  }
}

/** Submodules by name, in insertion order (`get`, `set`, `has`, `delete`, iteration). */
export class ModuleDict<M extends Module = Module> extends OrderedContainer {
  constructor(modules: Map<string, M> | Record<string, M> = {}) {
    super();
    const pairs = modules instanceof Map ? [...modules] : Object.entries(modules);
    for (const [name, m] of pairs) this.set(name, m);
  }

  get(key: string): M | undefined {
    return this.entries.get(key) as M | undefined;
  }

  set(key: string, module: M): this {
    if (key.includes('.')) throw new Error(`ModuleDict: module name can't contain "." (got "${key}")`);
    this.entries.set(key, checkModule('ModuleDict', `"${key}"`, module));
    return this;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  delete(key: string): boolean {
    return this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  values(): IterableIterator<M> {
    return this.entries.values() as IterableIterator<M>;
  }

  items(): IterableIterator<[string, M]> {
    return this.entries.entries() as IterableIterator<[string, M]>;
  }

  [Symbol.iterator](): IterableIterator<[string, M]> {
    return this.items();
  }
}
