/**
 * Vite build of the renderer. Run from the repo root:
 *   npx vite build app/renderer --config app/renderer/vite.config.ts
 * Output: dist/renderer/ with relative asset URLs, so the same files load from Electron's
 * app:// protocol and from the browser harness. No inline scripts (the CSP forbids them).
 */
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  base: './',
  build: {
    outDir: '../../dist/renderer',
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: true,
    // Keep the module preload polyfill out: it is an inline script in some setups.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      onwarn(warning, warn) {
        // zod ships comments Rollup cannot place; harmless, and not ours to fix.
        if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('/node_modules/zod/')) return;
        warn(warning);
      },
    },
  },
});
