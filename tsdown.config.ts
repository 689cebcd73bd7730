import { defineConfig } from 'tsdown';

// One build, two formats: ESM for modern apps, CommonJS for NestJS and other
// decorator users still on require(). Declarations are bundled per format.
export default defineConfig({
  entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  platform: 'node',
  target: 'node22',
  sourcemap: true,
  clean: true,
  outDir: 'dist',
});
