import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['spec/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file gets its own redis-server; two cores run two files at a time.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default'],
  },
});
