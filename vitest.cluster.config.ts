import { defineConfig } from 'vitest/config';

/** `npm run test:cluster`: Redis Cluster and Sentinel suites, each file starting its own servers. */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.test.ts'],
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
