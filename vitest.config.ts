import { defineConfig } from 'vitest/config';
import { scaled } from './test/helpers/time.js';

// One runner for the whole repo. Unit tests sit beside the code; test/ holds the privileged end-to-end
// suites that load real BPF programs and run real processes (they run one file at a time: they share
// the kernel). Timeouts are stretched by PEREGRINE_TEST_TIME_SCALE (set by the kernel matrix's VM runner).
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    projects: [
      { extends: true, test: { name: 'unit', testTimeout: scaled(60_000), hookTimeout: scaled(10_000), include: ['packages/*/src/**/*.test.ts', 'native/test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: scaled(120_000),
          hookTimeout: scaled(120_000),
        },
      },
    ],
  },
});
