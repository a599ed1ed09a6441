import { defineConfig } from 'vitest/config';

// Two projects: `unit` (fast, no VMs; tests beside the code) and `conformance`
// (test/**: real helpers, real VMs under QEMU). They run as separate stages of `npm test`.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['app/**/*.test.{ts,tsx}', 'scripts/**/*.test.ts', 'bench/**/*.test.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'conformance',
          include: ['test/conformance/**/*.test.ts', 'test/security/**/*.test.ts'],
          environment: 'node',
          // Real VMs under TCG on 2 cores: one file at a time, generous per-test budgets.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
