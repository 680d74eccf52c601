// Node built-ins, loaded lazily: nothing here runs (or is bundled) until a caller passes a file
// path, so the browser bundle of @kiln/data holds no Node module.

/** True in Node (and runtimes that implement its APIs, like Bun and Deno's Node mode). */
export function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

/** `import(specifier)` through a variable, so bundlers do not try to resolve Node built-ins. */
export function importNode<T>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}

export type NodeFs = typeof import('node:fs/promises');
export type NodePath = typeof import('node:path');
export type NodeZlib = typeof import('node:zlib');
