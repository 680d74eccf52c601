// The WebGPU browser example: `vite examples/webgpu-browser` (dev), `vite build examples/webgpu-browser`.
// @kiln/* resolve to their built dist/ like any installed package (build the workspace first).
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
