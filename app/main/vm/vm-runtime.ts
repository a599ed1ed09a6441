/**
 * Per-boot files of a VM. Keys and the per-VM initrd live in the data folder (`vms/<id>/`,
 * 0600); the channel socket lives in a short private runtime folder because unix socket
 * paths are limited to ~100 bytes (PROTOCOL.md `channelPath`).
 */
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
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

/** A private (0700, ours) folder for runtime sockets: $XDG_RUNTIME_DIR/vivarium or /tmp/vivarium-<uid>. */
export async function runtimeBase(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const base = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'vivarium') : join(tmpdir(), `vivarium-${userInfo().uid}`);
  await mkdir(base, { recursive: true, mode: 0o700 });
  const st = await stat(base);
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
  await mkdir(vmDir, { recursive: true, mode: 0o700 });
  const keys = generateVmKeys(vmName);
  await writeFile(join(vmDir, 'client_key'), keys.clientPrivateKey, { mode: 0o600 });
  await writeFile(join(vmDir, 'host_key.pub'), `${keys.hostPublicKey}\n`, { mode: 0o600 });
  const initrd = join(vmDir, 'initrd.img');
  await writeVmInitrd(baseInitrd, buildVmSegment({ authorizedKeys: keys.clientPublicKey, hostPrivateKey: keys.hostPrivateKey }), initrd);
  const base = await runtimeBase();
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
