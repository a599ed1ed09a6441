/**
 * The real core for the harness: the same Vivarium facade the Electron shell and `viv` use,
 * with the qemu-helper, on a data folder of the caller's choosing. Nothing is faked. API keys
 * live in memory (MemoryKeyStore): the harness never writes a key to disk, and by default it
 * does not read the developer's environment either, so tests start with no key set.
 */
import type { WindowCore } from '../../app/main/api/window-core.js';
import type { UpstreamConfig } from '../../app/main/gateway/api-gateway.js';
import type { ApiId } from '../../app/main/gateway/gateway-apis.js';
import { MemoryKeyStore } from '../../app/main/gateway/key-store.js';
import { Vivarium } from '../../app/main/core/vivarium.js';
import { helperProcessFactory } from '../../app/main/vm/helper-process.js';

/** An open core and how to shut it down (stops every VM it started). */
export interface RealCore {
  core: WindowCore;
  vivarium: Vivarium;
  dispose(): Promise<void>;
}

/** How to open the core. */
export interface RealCoreOptions {
  dataDir: string;
  /** Environment whose ANTHROPIC_API_KEY / OPENAI_API_KEY count as keys "from the environment" (default: none). */
  keyEnv?: NodeJS.ProcessEnv;
  /** Where the gateway sends each API's calls (tests: a local stand-in; default: the real APIs). */
  gatewayUpstreams?: Partial<Record<ApiId, UpstreamConfig>>;
}

/** Opens the core on `dataDir`. */
export async function openRealCore(opts: RealCoreOptions): Promise<RealCore> {
  const vivarium = await Vivarium.open({
    dataDir: opts.dataDir,
    helperFactory: helperProcessFactory(),
    keys: new MemoryKeyStore(opts.keyEnv ?? {}),
    gatewayUpstreams: opts.gatewayUpstreams,
  });
  return {
    core: vivarium,
    vivarium,
    dispose: () => vivarium.close(),
  };
}
