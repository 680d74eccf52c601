import { defineConfig } from 'tsup';

// One build for the library and the CLI (src/cli.ts keeps its shebang). The library itself only
// reaches Node built-ins through dynamic imports, so browser bundles stay free of them.
export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // Keep `node:` specifiers: bundlers then know the lazy fs imports are Node built-ins.
  removeNodeProtocol: false,
});
