/**
 * Per-boot files of a VM. Keys and the per-VM initrd live in the data folder (`vms/<id>/`,
 * 0600); the channel socket lives in a short private runtime folder because unix socket
 * paths are limited to ~100 bytes (PROTOCOL.md `channelPath`).
 */
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { VivError } from '../../shared/errors.js';
import { generateVmKeys, type VmKeys } from '../image/vm-keys.js';
import { buildVmSegment, writeVmInitrd } from '../image/vm-segment.js';

/** The files of one boot. */
export interface BootFiles {
  keys: VmKeys;
  initrd: string;
  consoleLog: string;
  runDir: string;
  channelPath: string;
}

/**
 * A private (0700, ours) folder for runtime sockets: $XDG_RUNTIME_DIR/vivarium or /tmp/vivarium-<uid>.
 * The check uses lstat: a symbolic link where the folder should be is refused, as whoever can
 * write its parent (/tmp is shared) could point it at any folder of ours.
 */
export async function runtimeBase(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const base = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'vivarium') : join(tmpdir(), `vivarium-${userInfo().uid}`);
  // A link planted there (even a dangling one) makes mkdir fail or pass: lstat decides either way.
  const failed = await mkdir(base, { recursive: true, mode: 0o700 }).then(() => null, (e: unknown) => e);
  const st = await lstat(base).catch(() => null);
  if (!st) throw new VivError('internal', `Could not create the runtime folder ${base}.`, failed);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new VivError('invalidState', `The runtime folder ${base} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}; Vivarium refuses to put the VMs' channels there. Remove it and try again.`);
  }
  if (st.uid !== userInfo().uid || (st.mode & 0o077) !== 0) {
    throw new VivError('invalidState', `The runtime folder ${base} is not private to this user (owner ${st.uid}, mode ${(st.mode & 0o777).toString(8)}); remove it and try again.`);
  }
  return base;
}

/**
 * Prepares one boot: fresh client and host keys (written 0600 for tools such as the exec
 * benchmark), the per-VM initrd (base + segment), the console log path and an empty run dir.
 */
export async function prepareBoot(vmDir: string, vmName: string, baseInitrd: string): Promise<BootFiles> {
  // The runtime folder first: a refused one leaves nothing behind.
  const base = await runtimeBase();
  await mkdir(vmDir, { recursive: true, mode: 0o700 });
  const keys = generateVmKeys(vmName);
  await writeFile(join(vmDir, 'client_key'), keys.clientPrivateKey, { mode: 0o600 });
  await writeFile(join(vmDir, 'host_key.pub'), `${keys.hostPublicKey}\n`, { mode: 0o600 });
  const initrd = join(vmDir, 'initrd.img');
  await writeVmInitrd(baseInitrd, buildVmSegment({ authorizedKeys: keys.clientPublicKey, hostPrivateKey: keys.hostPrivateKey }), initrd);
  await sweepStaleRunDirs(base);
  // The pid in the name lets a later process remove what a killed one (kill -9) left behind.
  const runDir = await mkdtemp(join(base, `vm-${process.pid}-`));
  return { keys, initrd, consoleLog: join(vmDir, 'console.log'), runDir, channelPath: join(runDir, 'ssh.sock') };
}

/** Removes run dirs of processes that no longer exist (a `viv` killed with -9 cannot clean up). */
export async function sweepStaleRunDirs(base: string): Promise<void> {
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const m = /^vm-(\d+)-/.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    await rm(join(base, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Removes what a boot left behind (the run dir; the initrd holds the host key, so it goes too). */
export async function cleanupBoot(files: BootFiles): Promise<void> {
  await rm(files.runDir, { recursive: true, force: true });
  await rm(files.initrd, { force: true });
}
