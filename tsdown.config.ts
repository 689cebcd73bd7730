import { defineConfig } from 'tsdown';

// One build, two formats: ESM for modern apps, CommonJS for NestJS and other
// decorator users still on require(). Declarations are bundled per format.
// One entry per subpath export (package.json "exports"): the main entry's
// declarations import nothing but node:*, so a project without the optional
// peers (ioredis, pg, @platformatic/kafka) compiles with skipLibCheck off;
// the parts that need a peer live behind their own subpath.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    kafka: 'src/entry/kafka.ts',
    redis: 'src/entry/redis.ts',
    fix: 'src/entry/fix.ts',
    sidecar: 'src/entry/sidecar.ts',
    testing: 'src/entry/testing.ts',
    cli: 'src/cli/main.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  platform: 'node',
  target: 'node22',
  sourcemap: true,
  clean: true,
  outDir: 'dist',
  // Build timings are noise in `npm ci` / `npm run build` output.
  checks: { pluginTimings: false },
});
