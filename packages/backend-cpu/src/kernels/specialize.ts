// Per-op, per-dtype copies of generic loops. V8 keeps type feedback per function, and the many
// closures a factory returns share it: one shared `o[i] = f(a[i], b[i])` loop sees every op and
// every typed-array type, goes megamorphic and never inlines `f`. Re-evaluating the factory's source
// gives each (op, dtype) its own function, so every loop is monomorphic and its callback inlined.
// Where eval is forbidden (a browser page with a strict Content-Security-Policy) the shared factory
// serves, correct but slower.

const cache = new Map<string, unknown>();
let evalAllowed = true;

/**
 * A private copy of `factory` for `key`, called with `args` (cached). The factory must not refer
 * to anything outside its own parameters and globals, since its source is re-evaluated.
 */
export function specialize<A extends unknown[], R>(key: string, factory: (...args: A) => R, ...args: A): R {
  const hit = cache.get(key);
  if (hit !== undefined) return hit as R;
  let copy = factory;
  if (evalAllowed) {
    try {
      copy = new Function(`return (${factory.toString()});`)() as typeof factory;
    } catch {
      evalAllowed = false;
    }
  }
  const made = copy(...args);
  cache.set(key, made);
  return made;
}
