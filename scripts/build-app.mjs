#!/usr/bin/env node
// Builds what Electron loads: the main process (ESM bundle), the preload (one CommonJS file,
// as sandboxed preloads must be) and the renderer (Vite). Output under dist/.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const common = { bundle: true, sourcemap: true, logLevel: 'warning', absWorkingDir: root, target: 'node20' };

await build({
  ...common,
  entryPoints: ['app/main/shell/main.ts'],
  outfile: 'dist/main/main.mjs',
  platform: 'node',
  format: 'esm',
  // ssh2's optional native addon and electron itself are resolved at run time.
  external: ['electron', 'cpu-features', './crypto/build/Release/sshcrypto.node'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
await build({
  ...common,
  entryPoints: ['app/preload/preload.ts'],
  outfile: 'dist/preload/preload.cjs',
  platform: 'node',
  format: 'cjs',
  external: ['electron'],
  target: 'chrome130',
});
const viteConfig = join(root, 'app/renderer/vite.config.ts');
if (existsSync(viteConfig)) {
  const r = spawnSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', 'app/renderer', '--config', viteConfig, '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
console.error('build-app: dist/main/main.mjs, dist/preload/preload.cjs' + (existsSync(viteConfig) ? ', dist/renderer/' : ''));
