// The WebGPU browser example end to end: builds the Vite page, serves it from 127.0.0.1, opens it
// in headless Chromium with WebGPU on (SwiftShader where there is no GPU), and checks the result
// the page publishes: trained on 'webgpu', the loss fell, held-out accuracy >= 90%, no page errors.
// The browser test is skipped only where Chromium is not installed (CI installs it).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { build, createLogger, preview } from 'vite';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SKIP =
  !existsSync(CHROMIUM) && `needs Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
const CONFIG = join(import.meta.dirname, '..', 'webgpu-browser', 'vite.config.mjs');
// SwiftShader ran the page's 150 steps in 40-60 s on a loaded 2-core machine; leave room for CI.
const RUN_TIMEOUT_MS = 240_000;
const MIN_ACCURACY = 0.9;

/** Vite's warnings, kept so the test can fail on "externalized for browser compatibility". */
function recordingLogger(warnings) {
  const logger = createLogger('warn');
  return {
    ...logger,
    warn(msg, options) {
      warnings.push(msg);
      logger.warn(msg, options);
    },
    warnOnce(msg, options) {
      warnings.push(msg);
      logger.warnOnce(msg, options);
    },
  };
}

let outDir;
before(() => {
  outDir = mkdtempSync(join(tmpdir(), 'kiln-webgpu-browser-'));
});
after(() => rmSync(outDir, { recursive: true, force: true }));

test('webgpu-browser: the Vite build bundles the packages for the browser, with no Node built-ins', async () => {
  const warnings = [];
  const result = await build({
    configFile: CONFIG,
    build: { outDir, emptyOutDir: true },
    customLogger: recordingLogger(warnings),
    logLevel: 'warn',
  });
  const chunks = [result]
    .flat()
    .flatMap((r) => r.output)
    .filter((o) => o.type === 'chunk');
  const fileNames = new Set(chunks.map((c) => c.fileName));
  const nodeBuiltins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
  for (const chunk of chunks) {
    for (const id of [...chunk.imports, ...chunk.dynamicImports]) {
      assert.ok(!nodeBuiltins.has(id), `${chunk.fileName} imports the Node built-in '${id}'`);
      assert.ok(fileNames.has(id), `${chunk.fileName} imports '${id}', which is not in the bundle`);
    }
  }
  assert.deepEqual(
    warnings.filter((w) => /externali[sz]ed|node:/i.test(w)),
    [],
    'Vite externalised modules for browser compatibility',
  );
});

test('webgpu-browser: the page trains on webgpu in headless Chromium and predicts held-out points', {
  skip: SKIP,
  timeout: RUN_TIMEOUT_MS + 60_000,
}, async () => {
  assert.ok(existsSync(join(outDir, 'index.html')), 'the build test must run first');
  const server = await preview({
    configFile: CONFIG,
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, open: false },
    logLevel: 'warn',
  });
  // playwright launches with a fresh temporary profile (--user-data-dir) of its own.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
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
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console error: ${m.text()}`);
    });
    // ?device=webgpu: the page fails instead of falling back to the CPU when WebGPU is missing.
    await page.goto(`${server.resolvedUrls.local[0]}?device=webgpu`);
    await page.waitForFunction(() => window.__kilnResult || window.__kilnError, null, {
      timeout: RUN_TIMEOUT_MS,
      polling: 500,
    });
    const error = await page.evaluate(() => window.__kilnError);
    assert.equal(error, undefined, `the page failed: ${error}`);
    const result = await page.evaluate(() => window.__kilnResult);
    const shown = await page.locator('#result').evaluate((el) => ({ text: el.textContent, ...el.dataset }));
    console.log(`chromium ${browser.version()}: ${JSON.stringify(result)}`);
    console.log(`page: ${shown.text}`);

    assert.deepEqual(errors, []);
    assert.equal(result.device, 'webgpu');
    assert.equal(shown.device, 'webgpu');
    assert.ok(result.adapter, 'the page names the WebGPU adapter');
    assert.ok(
      result.finalLoss < 0.1 * result.firstLoss,
      `loss fell only from ${result.firstLoss} to ${result.finalLoss}`,
    );
    assert.ok(
      result.testAccuracy >= MIN_ACCURACY,
      `held-out accuracy ${result.testAccuracy} < ${MIN_ACCURACY}`,
    );
    assert.equal(Number(shown.accuracy), result.testAccuracy);
    assert.equal(await page.locator('#progress').evaluate((el) => el.value), result.steps);
  } finally {
    await browser.close();
    await server.close();
  }
});
