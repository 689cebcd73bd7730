import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The skip summary comes last: one line per skipped suite and why (test/helpers/skip-summary-reporter.ts).
    reporters: ['default', './test/helpers/skip-summary-reporter.ts'],
  },
});
