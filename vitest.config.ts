// Unit tests sit beside the code and run in parallel; tests in test/ start real processes and
// sockets, so they run one file at a time to keep timings honest on 2-core machines.
// Benchmarks (test/bench/) are not tests.
import { defineConfig } from 'vitest/config'

const shared = { testTimeout: 30_000, hookTimeout: 90_000, pool: 'forks' as const }

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: 'unit',
          include: [
            'protocol/**/*.test.ts',
            'runtime/**/*.test.ts',
            'node/**/*.test.ts',
            'signaling/**/*.test.ts',
            // Reads the import graph only: no process, no socket.
            'test/architecture.test.ts',
            // Fuzzed decoders, short fixed seed: pure functions, no process.
            'test/fuzz/**/*.test.ts',
          ],
        },
      },
      {
        // The console's pure functions (state derivation, formatting): no browser needed.
        test: { ...shared, name: 'console', include: ['browser/src/**/*.test.ts'] },
      },
      {
        test: {
          ...shared,
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/bench/**', 'test/e2e/**', 'test/fuzz/**', 'test/architecture.test.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // Builds browser/dist when it is missing or older than its sources.
          globalSetup: ['test/helpers/console-build.ts'],
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
})
