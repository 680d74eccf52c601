// User-facing memory management: tidy scopes, keep, and dispose of nested containers.
import { runScoped } from './scope.js';
import { isTensor, type Tensor } from './tensor.js';

/**
 * Runs `fn` and disposes every tensor created inside it except those it returns (found in arrays,
 * plain objects and Maps) and those passed to `keep()`. Works with async functions: the scope then
 * ends when the promise settles.
 */
export function tidy<R>(fn: () => R): R {
  return runScoped(fn, isTensor);
}

/** Exempts `t` from disposal by any enclosing tidy(). */
export function keep<T extends Tensor>(t: T): T {
  t.isKept = true;
  return t;
}

/** Disposes a tensor or every tensor in an array / plain object. */
export function dispose(value: Tensor | readonly Tensor[] | Record<string, Tensor>): void {
  if (isTensor(value)) value.dispose();
  else for (const t of Object.values(value)) t.dispose();
}

/**
 * Runs an op built from other ops and disposes its intermediates: one op call leaves one new live
 * tensor (its result), as a kernel-backed op would. The graph keeps what backward needs.
 */
export function composite<R>(fn: () => R): R {
  return runScoped(fn, isTensor);
}
