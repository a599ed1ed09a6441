/**
 * The comparison guest of the egress benchmark: the same guest image booted under TCG with a
 * virtio-net NIC on QEMU's user-mode network (slirp), which Vivarium itself never gives a
 * guest. The image ships no network driver, so the pinned kernel package's virtio_net module
 * (and its deps) is taken from the guest build cache and appended to the initrd as one more
 * cpio segment; the guest loads it and configures slirp's default address. Bench-only.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GuestConnection } from '../../app/main/guest/guest-connection.js';
import type { GuestImage } from '../../app/main/image/guest-image.js';
import { cpioNewc } from '../../app/main/image/vm-segment.js';
import { bootDirect, type DirectVm } from '../../test/support/direct-qemu.js';

/** A running slirp guest. */
export interface SlirpGuest {
  /** Runs a shell command in the guest. */
  run(cmd: string): Promise<{ stdout: string; stderr: string; exitCode: number | null }>;
  /** The host as the guest sees it through slirp (it reaches the host's 127.0.0.1). */
  hostAddress: string;
  /** The QEMU process (slirp runs inside it), for CPU accounting. */
  pid: number | undefined;
  dispose(): Promise<void>;
}

// Load order: dependencies first (modinfo -F depends: virtio_net -> net_failover -> failover).
const MODULES = ['kernel/net/core/failover.ko', 'kernel/drivers/net/net_failover.ko', 'kernel/drivers/net/virtio_net.ko'];

/** The pinned kernel .deb in the guest build cache, or a reason why it is not there. */
function kernelDeb(image: GuestImage, repo: string): { path: string; release: string } | { missing: string } {
  const debArch = image.arch === 'x86_64' ? 'amd64' : 'arm64';
  const pkg = image.manifest.packages.find((p) => /^linux-image-\d/.test(p.name));
  if (!pkg) return { missing: 'the guest manifest names no kernel package' };
  const cache = process.env.VIVARIUM_GUEST_CACHE ?? join(repo, '.cache', 'guest');
  const path = join(cache, 'debs', debArch, `${pkg.name}_${pkg.version.replace(/^\d+:/, '')}_${debArch}.deb`);
  if (!existsSync(path)) return { missing: `${path} is not in the guest build cache (bash guest-image/build.sh fetches it)` };
  return { path, release: pkg.name.replace(/^linux-image-/, '') };
}

/** Boots the slirp guest, or returns why it cannot. */
export async function bootSlirpGuest(image: GuestImage, repo: string): Promise<SlirpGuest | { skipped: string }> {
  const deb = kernelDeb(image, repo);
  if ('missing' in deb) return { skipped: deb.missing };
  const work = await mkdtemp(join(tmpdir(), 'viv-slirp-'));
  let vm: DirectVm | null = null;
  let ssh: GuestConnection | null = null;
  const dispose = async (): Promise<void> => {
    ssh?.close();
    await vm?.kill();
    if (vm) await rm(vm.dir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  };
  try {
    const inDeb = MODULES.map((m) => `./lib/modules/${deb.release}/${m}`);
    await promisify(execFile)('sh', ['-c', 'w="$1"; shift; dpkg-deb --fsys-tarfile "$0" | tar -x -C "$w" "$@"', deb.path, work, ...inDeb]);
    const entries: { name: string; mode: number; data?: Buffer }[] = [{ name: 'bench-net', mode: 0o040755 }];
    for (const m of inDeb) entries.push({ name: `bench-net/${m.split('/').pop()}`, mode: 0o100644, data: await readFile(join(work, m)) });
    const base = await readFile(image.initrd);
    const initrd = join(work, 'initrd-net.img');
    await writeFile(initrd, Buffer.concat([base, Buffer.alloc((4 - (base.length % 4)) % 4), cpioNewc(entries)]));
    vm = await bootDirect({ image: { ...image, initrd }, extraArgs: ['-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0'] });
    ssh = await GuestConnection.open({ socketPath: vm.sshSocket, privateKey: vm.keys.clientPrivateKey, hostPublicKey: vm.keys.hostPublicKey }, { timeoutMs: 120_000, attemptMs: 1500 });
    const conn = ssh;
    const up = await conn.run(
      'for m in failover net_failover virtio_net; do insmod /bench-net/$m.ko || exit 1; done; ' +
        'i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; ' +
        'ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0',
      { cwd: '/' },
    );
    if (up.exitCode !== 0) throw new Error(`could not bring up the slirp NIC: ${up.stdout}${up.stderr}`);
    return { run: (cmd) => conn.run(cmd, { cwd: '/' }), hostAddress: '10.0.2.2', pid: vm.proc.pid, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}
