import { defineConfig } from 'vitest/config';

/** The slow suites (`npm run test:slow`): real server processes on one Redis, a minute or two. */
export default defineConfig({
  test: {
    include: ['test/slow/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
