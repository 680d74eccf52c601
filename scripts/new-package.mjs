// Writes the shared package skeleton (package.json, tsconfig, tsup and vitest configs) for one
// workspace package. Used once per package; kept so that a new package starts from the same shape.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, name, description, entriesArg = 'index', peerCore = 'yes'] = process.argv.slice(2);
const entries = entriesArg.split(',');
const root = join('packages', dir);
mkdirSync(join(root, 'src'), { recursive: true });

const subpath = (e) => (e === 'index' ? '.' : `./${e}`);
const exportsFor = (withSource) =>
  Object.fromEntries(
    entries.map((e) => [
      subpath(e),
      {
        ...(withSource ? { source: `./src/${e}.ts` } : {}),
        import: { types: `./dist/${e}.d.ts`, default: `./dist/${e}.js` },
        require: { types: `./dist/${e}.d.cts`, default: `./dist/${e}.cjs` },
      },
    ]),
  );

const pkg = {
  name,
  version: '0.1.0',
  description,
  license: 'MIT',
  type: 'module',
  sideEffects: false,
  main: './dist/index.cjs',
  module: './dist/index.js',
  types: './dist/index.d.ts',
  exports: exportsFor(true),
  publishConfig: { access: 'public', exports: exportsFor(false) },
  files: ['dist', 'README.md'],
  scripts: { build: 'tsup', test: 'vitest run', typecheck: 'tsc --noEmit' },
  ...(peerCore === 'yes'
    ? { peerDependencies: { '@kiln/core': 'workspace:^' }, devDependencies: { '@kiln/core': 'workspace:*' } }
    : {}),
};
writeFileSync(join(root, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(
  join(root, 'tsconfig.json'),
  `${JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src'] }, null, 2)}\n`,
);
writeFileSync(
  join(root, 'tsup.config.ts'),
  `import { defineConfig } from 'tsup';

export default defineConfig({
  entry: [${entries.map((e) => `'src/${e}.ts'`).join(', ')}],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
`,
);
writeFileSync(
  join(root, 'vitest.config.ts'),
  `import { defineConfig } from 'vitest/config';

// 'source' resolves workspace packages to their TypeScript sources, so tests need no build.
export default defineConfig({
  resolve: { conditions: ['source'] },
  test: { include: ['src/**/*.test.ts'], testTimeout: 60_000 },
});
`,
);
if (!existsSync(join(root, 'src', 'index.ts'))) writeFileSync(join(root, 'src', 'index.ts'), 'export {};\n');
