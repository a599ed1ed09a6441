/**
 * HelperPort on a real helper process (dist/native/qemu-helper on Linux), through the
 * protocol client app/main/vm/helper-client.ts: spawn + hello, requests with deadlines,
 * `exit` events and the helper's own death forwarded to the VM state machine.
 */
import { access, constants } from 'node:fs/promises';
import { VivError } from '../../shared/errors.js';
import { qemuHelperPath } from '../paths.js';
import { HelperClient } from './helper-client.js';
import type { VmSpec } from './helper-protocol.js';
import type { HelperFactory, HelperHello, HelperPort } from './helper-port.js';

/** A factory spawning the qemu-helper (path from paths.ts; env VIVARIUM_QEMU_HELPER overrides). */
export function qemuHelperFactory(path = qemuHelperPath()): HelperFactory {
  return async () => {
    if (!(await access(path, constants.X_OK).then(() => true, () => false))) {
      throw new VivError('notFound', `The VM helper ${path} is not built. Build it with \`npm run helpers:build\` (bash native/build.sh).`);
    }
    return portOn(await HelperClient.launch({ command: path }));
  };
}

function portOn(client: HelperClient): HelperPort {
  let closing = false;
  return {
    // launch() already did the handshake; its answer is reused.
    hello: async () => client.hello as unknown as HelperHello,
    start: (spec) => client.start(spec as VmSpec),
    stop: (o) => client.stop(o),
    onVmExit: (listener) => {
      client.onEvent((e) => {
        if (e.event === 'exit') listener({ reason: e.reason, exitCode: e.exitCode, message: e.message });
      });
    },
    onHelperExit: (listener) => {
      client.onExit((d) => {
        if (!closing) listener(d.stderr.trim().split('\n').slice(-3).join(' | '));
      });
    },
    async close() {
      closing = true;
      // PROTOCOL.md §1: the helper MUST exit within 5 s of stdin EOF; then it is killed.
      await client.close(6000);
    },
  };
}
