// tidy() scopes. Every tensor made while a scope is active is recorded in it; when the scope ends,
// the tensors it recorded are disposed, except what the function returned and what was `keep()`ed.
// In Node the active scope follows async continuations (AsyncLocalStorage), so `await` inside an
// async tidy and concurrent tidies stay separate; elsewhere a plain stack serves, and an async tidy
// then owns every tensor made until it settles.
import type { Tensor } from './tensor.js';

export interface Scope {
  readonly tensors: Tensor[];
}

interface ScopeStore {
  getStore(): Scope | undefined;
  run<R>(scope: Scope, fn: () => R): R;
}

type ProcessWithBuiltins = { getBuiltinModule?: (id: string) => unknown };

function createStore(): ScopeStore {
  const proc = (globalThis as { process?: ProcessWithBuiltins }).process;
  const hooks = proc?.getBuiltinModule?.('node:async_hooks') as
    | { AsyncLocalStorage: new () => ScopeStore }
    | undefined;
  if (hooks) return new hooks.AsyncLocalStorage();
  const stack: Scope[] = [];
  return {
    getStore: () => stack[stack.length - 1],
    run<R>(scope: Scope, fn: () => R): R {
      stack.push(scope);
      let result: R;
      try {
        result = fn();
      } catch (e) {
        stack.splice(stack.lastIndexOf(scope), 1);
        throw e;
      }
      if (result instanceof Promise) {
        const pop = () => stack.splice(stack.lastIndexOf(scope), 1);
        result.then(pop, pop);
      } else stack.splice(stack.lastIndexOf(scope), 1);
      return result;
    },
  };
}

const store = createStore();

export function trackInScope(t: Tensor): void {
  store.getStore()?.tensors.push(t);
}

/** Tensors found in a returned value: a tensor, or arrays / plain objects / Maps holding tensors. */
function collectTensors(
  value: unknown,
  isTensor: (v: unknown) => v is Tensor,
  out: Set<Tensor>,
  depth = 0,
): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (isTensor(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collectTensors(v, isTensor, out, depth + 1);
  else if (value instanceof Map) for (const v of value.values()) collectTensors(v, isTensor, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, isTensor, out, depth + 1);
  }
}

export function runScoped<R>(fn: () => R, isTensor: (v: unknown) => v is Tensor): R {
  const scope: Scope = { tensors: [] };
  const parent = store.getStore();
  const finish = (result: unknown) => {
    const keepers = new Set<Tensor>();
    collectTensors(result, isTensor, keepers);
    for (const t of scope.tensors) {
      if (keepers.has(t) || t.isKept) continue;
      t.dispose();
    }
    // Returned tensors now belong to the enclosing scope, as in TF.js.
    if (parent) for (const t of keepers) if (!t.isDisposed) parent.tensors.push(t);
  };
  let result: R;
  try {
    result = store.run(scope, fn);
  } catch (e) {
    finish(undefined);
    throw e;
  }
  if (result instanceof Promise) {
    return result.then(
      (v) => {
        finish(v);
        return v;
      },
      (e) => {
        finish(undefined);
        throw e;
      },
    ) as R;
  }
  finish(result);
  return result;
}

/** Runs `fn` with no active scope: what it makes is owned by nobody (used by autograd internals). */
export function runUnscoped<R>(fn: () => R): R {
  return store.run(undefined as unknown as Scope, fn);
}
