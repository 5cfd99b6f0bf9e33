import { defineConfig } from 'vitest/config';

// One runner for the whole repo. Unit tests sit beside the code; test/ holds the privileged end-to-end
// suites that load real BPF programs and run real processes (they run one file at a time: they share
// the kernel).
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    projects: [
      { extends: true, test: { name: 'unit', testTimeout: 60_000, include: ['packages/*/src/**/*.test.ts', 'native/test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
