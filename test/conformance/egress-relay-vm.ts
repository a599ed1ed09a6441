/**
 * A real VM with the egress relay channel, for the relay suites and bench/egress. Until every
 * helper carries `dataChannels` (PROTOCOL.md), QEMU is started directly (test/support/direct-qemu.ts)
 * with one more virtio-serial port named `vivarium.egress` on a unix socket, and the kernel
 * command line `vivarium.egress=1`, exactly what the qemu-helper does for a `dataChannels` entry.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GuestConnection } from '../../app/main/guest/guest-connection.js';
import { hostGuestArch, loadGuestImage } from '../../app/main/image/guest-image.js';
import { bootDirect, type DirectVm } from '../support/direct-qemu.js';

/** A booted relay VM. */
export interface RelayVm {
  vm: DirectVm;
  ssh: GuestConnection;
  /** The host end of the guest's `vivarium.egress` port (a unix socket QEMU listens on). */
  egressSocket: string;
  run(cmd: string): Promise<{ stdout: string; stderr: string; exitCode: number | null }>;
  dispose(): Promise<void>;
}

/** Boots the image in $VIVARIUM_GUEST_DIR (default dist/guest) with the egress channel. */
export async function bootRelayVm(o: { memoryMiB?: number; guestDir?: string } = {}): Promise<RelayVm> {
  const image = await loadGuestImage(hostGuestArch(), o.guestDir ?? process.env.VIVARIUM_GUEST_DIR);
  // Short path: unix socket paths are capped at ~100 bytes.
  const sockDir = await mkdtemp(join(tmpdir(), 'viv-egr-'));
  const egressSocket = join(sockDir, 'egress.sock');
  let vm: DirectVm | null = null;
  let ssh: GuestConnection | null = null;
  const dispose = async (): Promise<void> => {
    ssh?.close();
    await vm?.kill();
    if (vm) await rm(vm.dir, { recursive: true, force: true });
    await rm(sockDir, { recursive: true, force: true });
  };
  try {
    vm = await bootDirect({
      image,
      memoryMiB: o.memoryMiB ?? 512,
      extraArgs: [
        '-chardev', `socket,id=egress0,path=${egressSocket},server=on,wait=off`,
        '-device', 'virtserialport,bus=vser0.0,chardev=egress0,name=vivarium.egress',
      ],
      extraCmdline: ['vivarium.egress=1'],
    });
    ssh = await GuestConnection.open({ socketPath: vm.sshSocket, privateKey: vm.keys.clientPrivateKey, hostPublicKey: vm.keys.hostPublicKey }, { timeoutMs: 180_000, attemptMs: 1500 });
    if (!statSync(egressSocket).isSocket()) throw new Error(`QEMU did not create ${egressSocket}`);
    const conn = ssh;
    return { vm, ssh: conn, egressSocket, run: (cmd) => conn.run(cmd, { cwd: '/' }), dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}
