import { defineConfig } from 'vitest/config';

// 'source' resolves workspace packages to their TypeScript sources, so tests need no build.
const conditions = ['source', 'import', 'module', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    // --expose-gc lets the memory tests check the FinalizationRegistry safety net.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    include: ['src/**/*.test.ts'],
    testTimeout: 60_000,
    // Under CI every package also writes a JSON report; scripts/test-summary.mjs adds them up.
    reporters: process.env.CI
      ? ['default', ['json', { outputFile: process.env.KILN_TEST_REPORT ?? 'test-report.json' }]]
      : ['default'],
  },
});
