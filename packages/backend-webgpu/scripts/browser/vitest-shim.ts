// The slice of vitest's API that the test files use (describe/it/expect/hooks), for running them
// in a plain browser page. Tests run one after another; results go to `window.__kilnResults`.

interface TestCase {
  name: string;
  fn: (ctx: { skip: (reason?: string) => never }) => unknown;
}

const tests: TestCase[] = [];
const beforeAllHooks: (() => unknown)[] = [];
const afterAllHooks: (() => unknown)[] = [];
const prefix: string[] = [];

export function describe(name: string, fn: () => void): void {
  prefix.push(name);
  try {
    fn();
  } finally {
    prefix.pop();
  }
}

export function it(name: string, fn: TestCase['fn']): void {
  tests.push({ name: [...prefix, name].join(' > '), fn });
}
export const test = it;

export function beforeAll(fn: () => unknown): void {
  beforeAllHooks.push(fn);
}

export function afterAll(fn: () => unknown): void {
  afterAllHooks.push(fn);
}

class Skip {
  constructor(readonly reason: string) {}
}

function fmt(v: unknown): string {
  try {
    return typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    return String(v);
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((key) => deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

function matches(e: unknown, expected?: string | RegExp): boolean {
  if (expected === undefined) return true;
  const message = e instanceof Error ? e.message : String(e);
  return typeof expected === 'string' ? message.includes(expected) : expected.test(message);
}

export function expect(actual: unknown, label?: string) {
  const fail = (what: string) => {
    throw new Error(`${label ? `${label}: ` : ''}expected ${fmt(actual)} ${what}`);
  };
  const check = (ok: boolean, what: string) => {
    if (!ok) fail(what);
  };
  return {
    toBe: (e: unknown) => check(Object.is(actual, e), `to be ${fmt(e)}`),
    toEqual: (e: unknown) => check(deepEqual(actual, e), `to equal ${fmt(e)}`),
    toBeNull: () => check(actual === null, 'to be null'),
    toBeGreaterThan: (e: number) => check((actual as number) > e, `to be > ${e}`),
    toBeGreaterThanOrEqual: (e: number) => check((actual as number) >= e, `to be >= ${e}`),
    toBeLessThan: (e: number) => check((actual as number) < e, `to be < ${e}`),
    toMatch: (e: string | RegExp) => check(matches(actual, e), `to match ${e}`),
    toThrow: (e?: string | RegExp) => {
      try {
        (actual as () => unknown)();
      } catch (err) {
        if (!matches(err, e)) fail(`to throw ${e}, but it threw ${(err as Error).message}`);
        return;
      }
      fail('to throw');
    },
    not: {
      toBe: (e: unknown) => check(!Object.is(actual, e), `not to be ${fmt(e)}`),
      toBeNull: () => check(actual !== null, 'not to be null'),
    },
    rejects: {
      toThrow: async (e?: string | RegExp) => {
        try {
          await actual;
        } catch (err) {
          if (!matches(err, e)) fail(`to reject with ${e}, but got ${(err as Error).message}`);
          return;
        }
        fail('to reject');
      },
    },
  };
}

export interface TestResult {
  name: string;
  state: 'pass' | 'fail' | 'skip';
  ms: number;
  error?: string;
}

/** Runs every registered test in order. */
export async function runAll(onResult?: (r: TestResult) => void): Promise<TestResult[]> {
  const results: TestResult[] = [];
  for (const h of beforeAllHooks) await h();
  for (const t of tests) {
    const start = performance.now();
    let r: TestResult;
    try {
      await t.fn({
        skip: (reason = '') => {
          throw new Skip(reason);
        },
      });
      r = { name: t.name, state: 'pass', ms: 0 };
    } catch (e) {
      r =
        e instanceof Skip
          ? { name: t.name, state: 'skip', ms: 0, error: e.reason }
          : { name: t.name, state: 'fail', ms: 0, error: e instanceof Error ? e.message : String(e) };
    }
    r.ms = Math.round(performance.now() - start);
    results.push(r);
    onResult?.(r);
  }
  for (const h of afterAllHooks) await h();
  return results;
}
