import { defineConfig } from 'vitest/config';

/** `npm run test:portal`: the portal in a real browser (Debian's chromium), one file at a time. */
export default defineConfig({
  test: {
    include: ['test/portal/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
