import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // test/plugin/memory.test.ts measures retained heap after forced collections (global.gc).
    execArgv: ['--expose-gc'],
  },
});
