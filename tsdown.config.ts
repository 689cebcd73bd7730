import { defineConfig } from 'tsdown';

// One build, two formats: ESM for modern apps, CommonJS for NestJS and other
// decorator users still on require(). Declarations are bundled per format.
// One entry per subpath export (package.json "exports"): the main entry's
// declarations import nothing but node:*, so a project without the optional
// peers (ioredis, pg, @platformatic/kafka) compiles with skipLibCheck off;
// the parts that need a peer live behind their own subpath. Mind that an
// entry's bundled declarations keep the imports of every module they touch,
// even unused ones: exporting one more symbol from `/sidecar` can pull `pg`
// into it (test/package/consumer.test.ts fails when it does).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    kafka: 'src/entry/kafka.ts',
    redis: 'src/entry/redis.ts',
    fix: 'src/entry/fix.ts',
    sidecar: 'src/entry/sidecar.ts',
    postgres: 'src/entry/postgres.ts',
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
