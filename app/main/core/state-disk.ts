/**
 * A workspace's state disk ("keep the VM's state", issue 10): `<vmDir>/state.img`, a sparse raw
 * file attached read-write as the VM's second disk (/dev/vdb) with `vivarium.state=1`, on which
 * the guest's init uses it instead of tmpfs as the overlay's upper layer (guest-image/README.md
 * "Standard root"; the guest formats a blank disk ext4 and refuses a non-blank non-ext4 one).
 * Only standard boots use it; the tiny image has no overlay. The helper on Windows (HCS)
 * attaches only VHDX, which the app cannot make yet: keepState is refused there.
 */
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { VivError } from '../../shared/errors.js';
import type { StandardDiskFormat } from '../image/standard-image.js';
import type { DiskSpec, VmLaunch } from '../vm/vm-instance.js';

/** The state disk's file name in the workspace's VM folder. */
export const STATE_DISK_FILE = 'state.img';

/** Apparent size of a new state disk (sparse: it takes only what the guest writes). */
export const STATE_DISK_BYTES = 16 * 1024 ** 3;

/** Kernel parameter that makes init use the second disk as the overlay's upper layer. */
export const STATE_PARAM = 'vivarium.state=1';

/** Kernel parameter that makes init switch to the standard root (protocol-additions, H5's init). */
export const STANDARD_ROOT_PARAM = 'vivarium.root=standard';

/** Why keepState cannot apply on this platform, or null when it can. */
export function stateDiskUnsupportedReason(format: StandardDiskFormat): string | null {
  return format === 'raw'
    ? null
    : `Keeping the VM's state is not available on this platform yet: its VM helper attaches only ${format} disks and the app makes raw ones. Turn off "Keep the VM's state" in the workspace's settings.`;
}

/** The path of the workspace's state disk. */
export function stateDiskPath(vmDir: string): string {
  return join(vmDir, STATE_DISK_FILE);
}

/**
 * Makes `<vmDir>/state.img` when it does not exist (sparse, STATE_DISK_BYTES) and returns its
 * path. Created as state.img.partial and renamed: a crash never leaves a short file under the
 * real name. An existing disk is kept whatever its size (the guest owns its contents).
 */
export async function ensureStateDisk(vmDir: string, bytes: number = STATE_DISK_BYTES): Promise<string> {
  const path = stateDiskPath(vmDir);
  const existing = await stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw new VivError('internal', `Could not create the VM's state disk ${path}: ${e.message}`, e);
  });
  if (existing?.isFile()) return path;
  if (existing) throw new VivError('invalidState', `The VM's state disk ${path} is not a regular file; remove it or discard the saved state.`);
  const partial = `${path}.partial`;
  try {
    await mkdir(vmDir, { recursive: true, mode: 0o700 });
    const fh = await open(partial, 'w', 0o600);
    try {
      await fh.truncate(bytes);
    } finally {
      await fh.close();
    }
    await rename(partial, path);
  } catch (e) {
    await rm(partial, { force: true });
    throw new VivError('internal', `Could not create the VM's state disk ${path}: ${(e as Error).message}`, e);
  }
  return path;
}

/** Deletes the state disk (and a leftover partial one); false when there was none. */
export async function discardStateDisk(vmDir: string): Promise<boolean> {
  const path = stateDiskPath(vmDir);
  let existed = true;
  try {
    await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    existed = false;
  }
  await rm(path, { force: true });
  await rm(`${path}.partial`, { force: true });
  return existed;
}

/** The root disk of a standard boot and its memory floor. */
export interface StandardRoot {
  rootfs: string;
  format: StandardDiskFormat;
  minMemoryMiB: number;
}

/**
 * A standard boot's launch: the read-only root first (the guest's init mounts /dev/vda as the
 * root), then the state disk when given (/dev/vdb, read-write, `vivarium.state=1`), then the
 * base launch's own disks.
 */
export function standardLaunchOf(base: VmLaunch, root: StandardRoot, stateDisk: string | null): VmLaunch {
  const disks: DiskSpec[] = [{ id: 'standard', hostPath: root.rootfs, readOnly: true, format: root.format }];
  if (stateDisk) disks.push({ id: 'state', hostPath: stateDisk, readOnly: false, format: 'raw' });
  return {
    ...base,
    memoryMiB: Math.max(base.memoryMiB, root.minMemoryMiB),
    disks: [...disks, ...(base.disks ?? [])],
    cmdlineExtra: [...(base.cmdlineExtra ?? []), STANDARD_ROOT_PARAM, ...(stateDisk ? [STATE_PARAM] : [])],
  };
}
