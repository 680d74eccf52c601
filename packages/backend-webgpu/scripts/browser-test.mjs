#!/usr/bin/env node
// Runs the conformance and parity tests in headless Chromium on WebGPU: bundles the test files
// (esbuild, with 'vitest' mapped to a small shim), serves them from 127.0.0.1 with COOP/COEP
// headers, drives Debian's chromium through playwright-core, and exits non-zero on any failure.
//   node scripts/browser-test.mjs [--chromium /usr/bin/chromium] [--timeout 900]
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const executablePath = arg('--chromium', process.env.CHROMIUM_PATH ?? '/usr/bin/chromium');
const timeoutS = Number(arg('--timeout', '900'));

// esbuild comes with tsup (a dev dependency of every package), resolved through it.
const require = createRequire(import.meta.url);
const esbuild = createRequire(require.resolve('tsup/package.json'))('esbuild');

const bundle = await esbuild.build({
  entryPoints: [join(here, 'browser/entry.ts')],
  bundle: true,
  write: false,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  conditions: ['source', 'browser'],
  alias: { vitest: join(here, 'browser/vitest-shim.ts') },
  logLevel: 'warning',
});
const js = bundle.outputFiles[0].text;
const html = '<!doctype html><meta charset="utf-8"><title>kiln webgpu tests</title><script type="module" src="/tests.js"></script>';

const server = createServer((req, res) => {
  const headers = {
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cache-Control': 'no-store',
  };
  if (req.url === '/tests.js') res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript' }).end(js);
  else res.writeHead(200, { ...headers, 'Content-Type': 'text/html' }).end(html);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}/`;

// playwright launches with a fresh temporary profile (--user-data-dir) of its own.
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    '--no-sandbox',
    '--enable-unsafe-webgpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
let exitCode = 1;
try {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[page] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  await page.goto(url);
  const adapter = await page.evaluate(async () => {
    const a = await navigator.gpu?.requestAdapter();
    return a ? `${a.info.vendor} ${a.info.architecture} ${a.info.description}`.trim() : null;
  });
  console.log(`chromium ${browser.version()}, WebGPU adapter: ${adapter ?? 'none'}`);
  await page.waitForFunction(() => window.__kilnResults || window.__kilnError, null, {
    timeout: timeoutS * 1000,
    polling: 1000,
  });
  const error = await page.evaluate(() => window.__kilnError);
  if (error) throw new Error(`test run crashed: ${error}`);
  const results = await page.evaluate(() => window.__kilnResults);
  const count = (s) => results.filter((r) => r.state === s).length;
  for (const r of results) if (r.state === 'fail') console.log(`  FAIL ${r.name}\n       ${r.error}`);
  console.log(`browser tests: ${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped (${results.length})`);
  exitCode = count('fail') ? 1 : 0;
  if (process.env.CI) {
    // Counted with the vitest reports by scripts/test-summary.mjs at the repository root.
    const report = { numPassedTests: count('pass'), numFailedTests: count('fail'), numPendingTests: count('skip') };
    writeFileSync(new URL('../browser-test-report.json', import.meta.url), JSON.stringify(report));
  }
} finally {
  await browser.close();
  server.close();
}
process.exit(exitCode);
