/**
 * Rolling back an apply or undo that did not finish, from its journal and history entry: in
 * the process that failed, or at the next start after a crash. Every step is judged from the
 * folder's state, never from memory of what ran, so a rollback interrupted by another crash is
 * simply run again:
 *  - a put whose target now holds the temp file's inode is reverted to the previous version;
 *    a temp file still lying about is removed;
 *  - a folder the plan created is removed when empty;
 *  - a removed path is restored from the history (bytes, mode and mtime; link; folder);
 *  - a mode is set back when the path is still the same inode.
 * A path that holds something else than either version (changed by another program) is left
 * alone and reported as a leftover.
 */
import { createReadStream, type Stats } from 'node:fs';
import type { ApplyOp, Journal } from './apply-journal.js';
import { UnsafeParentError, type HostFolder } from './host-folder.js';
import { writeStreamTo } from './review-io.js';
import type { Before, ReviewHistory } from './review-history.js';
import { parentOf } from './staged-tree.js';

/** A path the rollback left as it found it, and why. */
export interface Leftover {
  path: string;
  reason: string;
}

/** Puts the folder back as it was before `j` started. Returns the paths it could not restore. */
export async function rollbackJournal(host: HostFolder, j: Journal, history: ReviewHistory): Promise<Leftover[]> {
  const entry = await history.read(j.historyId);
  const before = new Map<string, Before>((entry?.records ?? []).map((r) => [r.path, r.before]));
  const leftovers: Leftover[] = [];
  const dirModes: { path: string; mode: number }[] = [];
  let n = 0;
  // Temp files of an earlier, interrupted rollback of this same journal.
  const tempPrefix = `.viv-${j.id.slice(0, 12)}-r`;
  for (const dir of new Set(j.ops.map((o) => parentOf(o.path)))) {
    for (const name of await host.readdir(dir).catch(() => [] as string[])) {
      if (name.startsWith(tempPrefix) && name.endsWith('.tmp')) await host.unlink(dir ? `${dir}/${name}` : name).catch(() => undefined);
    }
  }
  const restore = async (path: string): Promise<void> => {
    const b = before.get(path);
    if (!b) {
      leftovers.push({ path, reason: 'no saved copy in the history' });
      return;
    }
    await restoreBefore(host, history, j, path, b, n++, dirModes);
  };
  for (const op of [...j.ops].reverse()) {
    try {
      await rollbackOp(host, op, j.state === 'preparing', restore, leftovers);
    } catch (e) {
      leftovers.push({ path: op.path, reason: (e as Error).message });
    }
  }
  for (const d of dirModes.sort((a, b) => b.path.length - a.path.length)) {
    const st = await host.lstat(d.path).catch(() => null);
    if (st?.isDirectory()) await host.chmod(d.path, d.mode, st.ino).catch((e: Error) => leftovers.push({ path: d.path, reason: e.message }));
  }
  for (const dir of new Set(j.ops.map((o) => parentOf(o.path)))) await host.syncDir(dir).catch(() => undefined);
  return leftovers;
}

async function rollbackOp(host: HostFolder, op: ApplyOp, preparing: boolean, restore: (p: string) => Promise<void>, leftovers: Leftover[]): Promise<void> {
  if (op.op === 'put') {
    const temp = await host.lstat(op.temp).catch(() => null);
    const ours = temp && (preparing || op.tempIno === null || temp.ino === op.tempIno) && (temp.isFile() || temp.isSymbolicLink());
    if (ours) await host.unlink(op.temp);
  }
  let st: Stats | null;
  try {
    st = await host.lstat(op.path);
  } catch (e) {
    // Below a link: nothing of ours can be there (the engine never writes through one).
    if (e instanceof UnsafeParentError) return;
    throw e;
  }
  switch (op.op) {
    case 'put': {
      if (preparing || !st || op.tempIno === null || st.ino !== op.tempIno) return; // never renamed into place
      if (op.pre === null) await host.unlink(op.path);
      else await restore(op.path);
      return;
    }
    case 'mkdir':
      if (preparing || !st?.isDirectory()) return;
      await host.rmdir(op.path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
        leftovers.push({ path: op.path, reason: 'the folder it created holds files added since' });
      });
      return;
    case 'remove':
      if (preparing) return;
      if (!st) await restore(op.path);
      else if (st.ino !== op.pre.ino) leftovers.push({ path: op.path, reason: 'something else was put there since' });
      return;
    case 'chmod':
      if (preparing || !op.pre || !st || st.ino !== op.pre.ino) return;
      if ((st.mode & 0o7777) !== op.pre.mode) await host.chmod(op.path, op.pre.mode, st.ino);
      return;
  }
}

/** Puts `path` back to `b` (its version before the apply). Folder modes are set last by the caller. */
export async function restoreBefore(host: HostFolder, history: ReviewHistory, j: Journal, path: string, b: Before, n: number, dirModes: { path: string; mode: number }[]): Promise<void> {
  const cur = await host.lstat(path);
  const tmp = `${parentOf(path) ? `${parentOf(path)}/` : ''}.viv-${j.id.slice(0, 12)}-r${n}.tmp`;
  switch (b.type) {
    case 'absent':
      if (cur?.isDirectory()) await host.rmdir(path);
      else if (cur) await host.unlink(path);
      return;
    case 'dir':
      if (cur && !cur.isDirectory()) await host.unlink(path);
      if (!cur?.isDirectory()) await host.mkdir(path, 0o700);
      dirModes.push({ path, mode: b.mode });
      return;
    case 'symlink':
      if (cur?.isDirectory()) await host.rmdir(path);
      await host.symlink(tmp, b.target);
      await host.rename(tmp, path);
      return;
    case 'file': {
      if (cur?.isDirectory()) await host.rmdir(path);
      const fh = await host.createFile(tmp, 0o600);
      try {
        await writeStreamTo(fh, createReadStream(history.blobPath(j.historyId, b.blob)));
        await fh.chmod(b.mode);
        await fh.utimes(b.mtimeMs / 1000, b.mtimeMs / 1000);
        await fh.sync();
      } catch (e) {
        await fh.close();
        await host.unlink(tmp).catch(() => undefined);
        throw e;
      }
      await fh.close();
      await host.rename(tmp, path);
      return;
    }
  }
}
