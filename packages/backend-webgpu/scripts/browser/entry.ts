// Browser entry: the same test files as in Node, run by the vitest shim in a page.
import '../../src/conformance.test.ts';
import '../../src/parity.test.ts';
import '../../src/runtime.test.ts';
import { runAll, type TestResult } from './vitest-shim.js';

declare global {
  interface Window {
    __kilnResults?: TestResult[];
    __kilnProgress?: number;
    __kilnError?: string;
  }
}

window.__kilnProgress = 0;
runAll(() => {
  window.__kilnProgress = (window.__kilnProgress ?? 0) + 1;
}).then(
  (results) => {
    window.__kilnResults = results;
  },
  (e: unknown) => {
    window.__kilnError = String(e instanceof Error ? e.stack : e);
  },
);
