import { defineConfig } from 'vitest/config';

// `npm run test:electron`: the desktop app itself, launched by Playwright's Electron support.
// Needs Electron's binary, which `npm start` downloads; not part of `npm test` on machines
// that cannot download it (CI here).
export default defineConfig({
  test: {
    include: ['test/electron/**/*.electron.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
