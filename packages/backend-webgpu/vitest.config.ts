import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// 'source' resolves workspace packages to their TypeScript sources, so tests need no build.
const conditions = ['source', 'import', 'module', 'node', 'default'];

// Without a GPU, Dawn runs on SwiftShader (Vulkan on the CPU), shipped with Debian's chromium. Without
// this, the Vulkan loader may pick a driver Dawn rejects and requestAdapter() returns null.
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
// Set here, in the parent process, so that test processes inherit them (the native addon reads the
// real environment, which vitest's per-worker `env` option does not reach).
process.env.XDG_RUNTIME_DIR ??= '/tmp';
if (!process.env.VK_ICD_FILENAMES && existsSync(swiftshader)) process.env.VK_ICD_FILENAMES = swiftshader;

export default defineConfig({
  resolve: {
    conditions,
    // Test-only: the training test uses @kiln/nn from its sources without making it a dependency
    // (a backend depends on core alone).
    alias: { '@kiln/nn': fileURLToPath(new URL('../nn/src/index.ts', import.meta.url)) },
  },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    // --expose-gc lets the memory tests settle the FinalizationRegistry before counting.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Under CI every package also writes a JSON report; scripts/test-summary.mjs adds them up.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-report.json' }]] : ['default'],
  },
});
