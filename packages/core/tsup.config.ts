import { defineConfig } from 'tsup';

// `testing` imports the core by its own package name and keeps it external, so an app that loads
// both entry points holds one copy of the backend registry and the autograd state.
export default defineConfig({
  entry: ['src/index.ts', 'src/testing.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  external: ['@kiln/core'],
});
