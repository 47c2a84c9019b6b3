// Unit tests sit beside the code; cross-folder and process tests live in test/. Benchmarks are not tests.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['protocol/**/*.test.ts', 'node/**/*.test.ts', 'signaling/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'test/bench/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
