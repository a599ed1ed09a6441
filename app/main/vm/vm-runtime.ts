/**
 * Per-boot files of a VM. Keys and the per-VM initrd live in the data folder (`vms/<id>/`,
 * 0600); the channel endpoints live in a short private runtime folder, because unix socket
 * paths are limited to ~100 bytes (PROTOCOL.md `channelPath`), or are Windows pipe names.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join, posix, win32 } from 'node:path';
import { VivError } from '../../shared/errors.js';
import { generateVmKeys, type VmKeys } from '../image/vm-keys.js';
import { buildVmSegment, writeVmInitrd } from '../image/vm-segment.js';
import type { EndpointStyle } from './helper-process.js';

/** The files of one boot. */
export interface BootFiles {
  keys: VmKeys;
  initrd: string;
  consoleLog: string;
  /** The boot's private folder in the runtime folder (unix sockets live here). */
  runDir: string;
}

/**
 * Where the runtime folder is. POSIX: `$XDG_RUNTIME_DIR/vivarium`, else `<tmp>/vivarium-<uid>`.
 * Windows: `%LOCALAPPDATA%\Vivarium\run`, inside the user's profile.
 */
export function runtimeBaseDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') {
    const local = env.LOCALAPPDATA && win32.isAbsolute(env.LOCALAPPDATA) ? env.LOCALAPPDATA : win32.join(homedir(), 'AppData', 'Local');
    return win32.join(local, 'Vivarium', 'run');
  }
  return env.XDG_RUNTIME_DIR ? posix.join(env.XDG_RUNTIME_DIR, 'vivarium') : posix.join(tmpdir(), `vivarium-${userInfo().uid}`);
}

/**
 * The runtime folder, created if needed and checked to be private to this user. The check uses
 * lstat: a symbolic link (or, on Windows, a junction) where the folder should be is refused, as
 * whoever can write its parent (/tmp is shared) could point it at any folder of ours.
 * - POSIX: owned by this uid, and no group or other permission bits (0700).
 * - Windows: `stat().uid` is -1 there and there is no mode to read. The folder lives in the
 *   user's %LOCALAPPDATA%, whose ACL grants only the user, SYSTEM and Administrators, and
 *   inherits down to it; hcs-helper creates each pipe with a user-only ACL of its own
 *   (native/hcs-helper/README.md). So the check is the lstat one; no ACL is parsed.
 */
export async function runtimeBase(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Promise<string> {
  const base = runtimeBaseDir(env, platform);
  // A link planted there (even a dangling one) makes mkdir fail or pass: lstat decides either way.
  const failed = await mkdir(base, { recursive: true, mode: 0o700 }).then(() => null, (e: unknown) => e);
  const st = await lstat(base).catch(() => null);
  if (!st) throw new VivError('internal', `Could not create the runtime folder ${base}.`, failed);
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new VivError('invalidState', `The runtime folder ${base} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a folder'}; Vivarium refuses to put the VMs' channels there. Remove it and try again.`);
  }
  if (platform !== 'win32' && (st.uid !== userInfo().uid || (st.mode & 0o077) !== 0)) {
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
  return { keys, initrd, consoleLog: join(vmDir, 'console.log'), runDir };
}

/** The host endpoints of one boot's channels: the SSH channel's, and one per data channel (in order). */
export interface ChannelPaths {
  ssh: string;
  data: string[];
}

/**
 * Names the boot's channel endpoints in the helper's style. Unix sockets: `<runDir>/ssh.sock` and
 * `<runDir>/<name>.sock` (the run dir is private). Named pipes: `\\.\pipe\vivarium-<random>-ssh`
 * and `…-<name>`; pipe names are machine-wide, so 128 random bits keep another process from
 * predicting (and creating first) the names, and the helper refuses a name that exists.
 */
export function channelPaths(style: EndpointStyle, runDir: string, dataChannels: readonly string[], random = randomBytes(16).toString('hex')): ChannelPaths {
  switch (style) {
    case 'unix-socket':
      return { ssh: posix.join(runDir, 'ssh.sock'), data: dataChannels.map((n) => posix.join(runDir, `${n}.sock`)) };
    case 'named-pipe': {
      const pipe = (n: string): string => `\\\\.\\pipe\\vivarium-${random}-${n}`;
      return { ssh: pipe('ssh'), data: dataChannels.map(pipe) };
    }
    default:
      return unknownStyle(style);
  }
}

function unknownStyle(style: never): never {
  throw new VivError('internal', `Unknown endpoint style ${String(style)}`);
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
