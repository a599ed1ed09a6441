/**
 * Development entry of the browser harness: the real core on a data folder, the built renderer,
 * and a URL (with its token) to open in a browser on this machine.
 *
 *   npx vite build app/renderer --config app/renderer/vite.config.ts
 *   npx tsx test/harness/dev.ts [data-folder]     (default: a new temporary folder)
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness } from './harness-server.js';
import { openRealCore } from './real-core.js';

async function main(): Promise<void> {
  const dataDir = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'viv-harness-')));
  // Development: keys from this shell's environment count, as with `viv`; keys stored in the window stay in memory.
  const core = await openRealCore({ dataDir, keyEnv: process.env });
  const harness = await startHarness({ core: core.core, rendererDir: join(process.cwd(), 'dist', 'renderer') });
  console.log(`Vivarium harness: data ${dataDir}\nOpen ${harness.url}\n(Ctrl-C stops it and every VM it started.)`);
  const stop = async (): Promise<void> => {
    await harness.close();
    await core.dispose();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
