/**
 * The user's folder as review mode touches it: every operation names a path relative to the
 * root and MUST NOT follow a symbolic link anywhere on the way, so a staged `a -> /home/user`
 * followed by `a/.bashrc` can never write outside the folder.
 *
 * On Linux each parent folder is opened component by component with O_DIRECTORY|O_NOFOLLOW and
 * the operation goes through `/proc/self/fd/<fd>/<name>`: the kernel resolves the name inside
 * the folder that was opened, so swapping a parent for a link during the operation changes
 * nothing. Elsewhere (no /proc) every parent is checked with lstat before each operation, which
 * leaves a short race with another program swapping a parent; the final component is never
 * followed on any platform (lstat, unlink, rename, O_NOFOLLOW opens, fchmod on an open handle).
 */
import { constants as C } from 'node:fs';
import { chmod as chmodPath, lstat, mkdir, open, opendir, readlink, rename, rmdir, stat, symlink, unlink, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { VivError } from '../../shared/errors.js';

const NOFOLLOW = C.O_NOFOLLOW ?? 0;
const DIRECTORY = C.O_DIRECTORY ?? 0;
const NONBLOCK = C.O_NONBLOCK ?? 0;
/** Open folder handles kept at most (least recently used ones are closed first). */
const MAX_OPEN_DIRS = 512;

interface DirRef {
  fh: FileHandle;
  pins: number;
  stale: boolean;
}

/** Thrown when a parent of a path is a symbolic link or not a folder on the host. */
export class UnsafeParentError extends VivError {
  constructor(readonly path: string, readonly parent: string, readonly what: 'symlink' | 'notDir') {
    super('invalidState', what === 'symlink'
      ? `${path}: its folder ${parent || '.'} is a symbolic link on your computer, which is never followed`
      : `${path}: ${parent} is not a folder on your computer`);
  }
}

/** A user's folder, opened for review-mode reads and writes that never follow links. */
export class HostFolder {
  private readonly dirs = new Map<string, DirRef>();

  private constructor(readonly root: string, private readonly rootFh: FileHandle | null) {}

  /**
   * Opens `root` (an existing folder, given canonical). `checkedPaths` forces the lstat-checked
   * fallback that platforms without /proc use (for its tests).
   */
  static async open(root: string, opts: { checkedPaths?: boolean } = {}): Promise<HostFolder> {
    const st = await stat(root).catch((e: NodeJS.ErrnoException) => {
      throw new VivError('notFound', `The folder ${root} cannot be opened: ${e.message}`, e);
    });
    if (!st.isDirectory()) throw new VivError('invalidArgument', `${root} is not a folder`);
    if (opts.checkedPaths || process.platform !== 'linux' || !NOFOLLOW || !DIRECTORY) return new HostFolder(root, null);
    const fh = await open(root, C.O_RDONLY | DIRECTORY);
    const viaProc = await stat(`/proc/self/fd/${fh.fd}`).catch(() => null);
    if (!viaProc || viaProc.ino !== st.ino || viaProc.dev !== st.dev) {
      await fh.close();
      return new HostFolder(root, null);
    }
    return new HostFolder(root, fh);
  }

  /** True when operations are race-free (Linux /proc/self/fd); false for the lstat-checked fallback. */
  get raceFree(): boolean {
    return this.rootFh !== null;
  }

  /** Closes every open folder handle. */
  async close(): Promise<void> {
    const refs = [...this.dirs.values()];
    this.dirs.clear();
    await Promise.all(refs.map((r) => r.fh.close().catch(() => undefined)));
    await this.rootFh?.close().catch(() => undefined);
  }

  /**
   * Runs `fn` with a path for `rel` through which its last component is reached without
   * following links in any parent. Resolves null when a parent does not exist.
   * @throws UnsafeParentError when a parent is a link or not a folder.
   */
  async at<T>(rel: string, fn: (hostPath: string) => Promise<T>): Promise<T | null> {
    const slash = rel.lastIndexOf('/');
    const parent = slash < 0 ? '' : rel.slice(0, slash);
    const name = slash < 0 ? rel : rel.slice(slash + 1);
    if (!this.rootFh) {
      const ok = await this.checkParents(rel, parent);
      return ok ? fn(name === '' ? this.root : join(this.root, parent, name)) : null;
    }
    if (parent === '') return fn(name === '' ? `/proc/self/fd/${this.rootFh.fd}` : `/proc/self/fd/${this.rootFh.fd}/${name}`);
    const ref = await this.openDir(rel, parent);
    if (!ref) return null;
    try {
      return await fn(`/proc/self/fd/${ref.fh.fd}/${name}`);
    } finally {
      await this.unpin(ref);
    }
  }

  private async unpin(ref: DirRef): Promise<void> {
    ref.pins--;
    if (ref.stale && ref.pins === 0) await ref.fh.close().catch(() => undefined);
  }

  /**
   * lstat of `rel`; null when it does not exist, or a parent is missing or not a folder.
   * @throws UnsafeParentError when a parent is a symbolic link.
   */
  async lstat(rel: string): Promise<Stats | null> {
    try {
      return await this.at(rel, (p) => lstat(p).catch(absentAsNull));
    } catch (e) {
      if (e instanceof UnsafeParentError && e.what === 'notDir') return null;
      throw e;
    }
  }

  /** Names in folder `rel` ('' = the root); [] when it does not exist. */
  async readdir(rel: string): Promise<string[]> {
    const names = await this.at(rel, async (p) => {
      const out: string[] = [];
      const st = await lstat(p).catch(absentAsNull);
      if (!st?.isDirectory()) return out;
      for await (const d of await opendir(p)) out.push(d.name);
      return out;
    });
    return names ?? [];
  }

  /** The target of link `rel`. */
  async readlink(rel: string): Promise<string> {
    return must(rel, await this.at(rel, (p) => readlink(p)));
  }

  /**
   * Opens regular file `rel` for reading (O_NOFOLLOW; FIFOs never block). Resolves null when
   * absent. @throws VivError when it is not a regular file.
   */
  async openFile(rel: string, flags: number = C.O_RDONLY): Promise<FileHandle | null> {
    return this.at(rel, async (p) => {
      let fh: FileHandle;
      try {
        fh = await open(p, flags | NOFOLLOW | NONBLOCK);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new VivError('invalidState', `${rel} is a symbolic link on your computer`, e);
        throw e;
      }
      const st = await fh.stat();
      if (!st.isFile() && !st.isDirectory()) {
        await fh.close();
        throw new VivError('invalidState', `${rel} is not a regular file on your computer`);
      }
      return fh;
    });
  }

  /** Creates `rel` exclusively (never over anything, never through a link) for writing. */
  async createFile(rel: string, mode = 0o600): Promise<FileHandle> {
    return must(rel, await this.at(rel, (p) => open(p, C.O_WRONLY | C.O_CREAT | C.O_EXCL | NOFOLLOW, mode)));
  }

  /** Makes link `rel` -> `target` (never over an existing name). */
  async symlink(rel: string, target: string): Promise<void> {
    must(rel, await this.at(rel, (p) => symlink(target, p).then(() => true)));
  }

  /** Creates folder `rel` (its parent MUST exist). */
  async mkdir(rel: string, mode = 0o700): Promise<void> {
    must(rel, await this.at(rel, (p) => mkdir(p, mode).then(() => true)));
  }

  /** Removes file or link `rel`. */
  async unlink(rel: string): Promise<void> {
    must(rel, await this.at(rel, (p) => unlink(p).then(() => true)));
  }

  /** Removes empty folder `rel`. */
  async rmdir(rel: string): Promise<void> {
    this.forget(rel);
    must(rel, await this.at(rel, (p) => rmdir(p).then(() => true)));
  }

  /** Renames `from` over `to` (both relative; the same file system). */
  async rename(from: string, to: string): Promise<void> {
    this.forget(to);
    await this.at(from, (pf) => this.at(to, (pt) => rename(pf, pt)).then((r) => must(to, r)))
      .then((r) => must(from, r));
  }

  /**
   * Sets `rel`'s permission bits through an O_NOFOLLOW handle, only when it is still the
   * inode `ino` (a path swapped since it was checked is refused).
   */
  async chmod(rel: string, mode: number, ino: number): Promise<void> {
    const fh = await this.openFile(rel).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EACCES') throw e;
      // Not readable by us (mode 000 as a normal user): check the name is still that regular
      // file or folder, then set the mode by name (the last component is not a link: checked).
      await this.at(rel, async (p) => {
        const st = await lstat(p);
        if (st.ino !== ino || st.isSymbolicLink()) throw new VivError('invalidState', `${rel} was replaced on your computer during the operation`);
        await chmodPath(p, mode & 0o7777);
      });
      return 'done' as const;
    });
    if (fh === 'done') return;
    if (!fh) throw new VivError('notFound', `${rel} no longer exists on your computer`);
    try {
      const st = await fh.stat();
      if (st.ino !== ino) throw new VivError('invalidState', `${rel} was replaced on your computer during the operation`);
      await fh.chmod(mode & 0o7777);
    } finally {
      await fh.close();
    }
  }

  /** fsyncs folder `rel` so renames in it survive a power cut (best effort where unsupported). */
  async syncDir(rel: string): Promise<void> {
    await this.at(rel, async (p) => {
      const fh = await open(p, C.O_RDONLY | DIRECTORY | NOFOLLOW).catch(() => null);
      try {
        await fh?.sync();
      } catch {
        // Some file systems refuse fsync on a folder; the rename itself is still atomic.
      } finally {
        await fh?.close();
      }
    });
  }

  /** Forgets cached handles of folder `rel` and below (it is being removed or replaced). */
  forget(rel: string): void {
    for (const [key, ref] of this.dirs) {
      if (key === rel || key.startsWith(`${rel}/`)) {
        this.dirs.delete(key);
        ref.stale = true;
        if (ref.pins === 0) void ref.fh.close().catch(() => undefined);
      }
    }
  }

  /**
   * The handle of folder `dir`, opened component by component without following links; null
   * when it does not exist. The returned handle is PINNED (never closed while in use): the
   * caller MUST unpin it. A closed descriptor's number is reused by the next open, so a path
   * through an unpinned handle could reach another folder.
   */
  private async openDir(forPath: string, dir: string): Promise<DirRef | null> {
    const hit = this.dirs.get(dir);
    if (hit) {
      hit.pins++;
      this.dirs.delete(dir); // re-insert: the Map's order is the LRU order
      this.dirs.set(dir, hit);
      return hit;
    }
    const slash = dir.lastIndexOf('/');
    const up = slash < 0 ? '' : dir.slice(0, slash);
    const name = slash < 0 ? dir : dir.slice(slash + 1);
    const upRef = up === '' ? null : await this.openDir(forPath, up);
    if (up !== '' && !upRef) return null;
    const upPath = upRef ? `/proc/self/fd/${upRef.fh.fd}` : `/proc/self/fd/${this.rootFh!.fd}`;
    let fh: FileHandle;
    try {
      fh = await open(`${upPath}/${name}`, C.O_RDONLY | DIRECTORY | NOFOLLOW);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP') throw new UnsafeParentError(forPath, dir, 'symlink');
      if (code === 'ENOTDIR') {
        const st = await lstat(`${upPath}/${name}`).catch(() => null);
        throw new UnsafeParentError(forPath, dir, st?.isSymbolicLink() ? 'symlink' : 'notDir');
      }
      throw e;
    } finally {
      if (upRef) await this.unpin(upRef);
    }
    const raced = this.dirs.get(dir);
    if (raced) {
      await fh.close();
      raced.pins++;
      return raced;
    }
    const ref: DirRef = { fh, pins: 1, stale: false };
    this.dirs.set(dir, ref);
    this.evict();
    return ref;
  }

  private evict(): void {
    if (this.dirs.size <= MAX_OPEN_DIRS) return;
    for (const [key, ref] of this.dirs) {
      if (this.dirs.size <= MAX_OPEN_DIRS) break;
      if (ref.pins > 0) continue;
      this.dirs.delete(key);
      void ref.fh.close().catch(() => undefined);
    }
  }

  /** Fallback without /proc: every parent of `rel` MUST be a real folder (lstat). */
  private async checkParents(rel: string, parent: string): Promise<boolean> {
    if (parent === '') return true;
    let cur = '';
    for (const part of parent.split('/')) {
      cur = cur ? `${cur}/${part}` : part;
      const st = await lstat(join(this.root, cur)).catch(absentAsNull);
      if (!st) return false;
      if (st.isSymbolicLink()) throw new UnsafeParentError(rel, cur, 'symlink');
      if (!st.isDirectory()) throw new UnsafeParentError(rel, cur, 'notDir');
    }
    return true;
  }
}

function absentAsNull(e: NodeJS.ErrnoException): null {
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return null;
  throw e;
}

function must<T>(rel: string, v: T | null): T {
  if (v === null) throw new VivError('notFound', `${rel}: its folder does not exist on your computer`);
  return v;
}
