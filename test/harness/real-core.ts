/**
 * The real core for the harness: the same Vivarium facade the Electron shell and `viv` use,
 * with the qemu-helper, on a data folder of the caller's choosing. Nothing is faked.
 */
import type { WindowCore } from '../../app/main/api/window-core.js';
import { Vivarium } from '../../app/main/core/vivarium.js';
import { qemuHelperFactory } from '../../app/main/vm/qemu-helper-port.js';

/** An open core and how to shut it down (stops every VM it started). */
export interface RealCore {
  core: WindowCore;
  vivarium: Vivarium;
  dispose(): Promise<void>;
}

/** Opens the core on `dataDir`. */
export async function openRealCore(opts: { dataDir: string }): Promise<RealCore> {
  const vivarium = await Vivarium.open({ dataDir: opts.dataDir, helperFactory: qemuHelperFactory() });
  return {
    core: vivarium,
    vivarium,
    dispose: () => vivarium.close(),
  };
}
