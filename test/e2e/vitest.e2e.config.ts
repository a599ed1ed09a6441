import { defineConfig } from 'vitest/config';

// End-to-end tests: the built renderer in Debian's Chromium, through the harness bridge, against
// the real core and real VMs (QEMU, TCG here). One file at a time; generous budgets, since a VM
// boot under TCG on 2 shared cores can take minutes while other suites run.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    reporters: ['default'],
  },
});
