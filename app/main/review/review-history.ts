/**
 * A workspace's apply history (`<review data>/history/<id>/`): before an apply overwrites or
 * removes anything, the previous version of every touched path (bytes, mode and mtime; link
 * target; folder mode; or "absent") goes here, so the apply can be rolled back after a crash
 * and undone later. Bytes are kept as a hard link to the old inode when the folder and the
 * data folder share a file system and nothing else links to it (the apply replaces the name by
 * rename, so the old inode is then only ours), else copied. Bounded by size and age; pruning
 * never removes the newest apply's undo data while it is undoable.
 */
import { constants as C } from 'node:fs';
import { link, lstat, mkdir, open, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { VivError } from '../../shared/errors.js';
import { syncDir, writeFileAtomic } from '../state/atomic-file.js';
import type { PathStat } from './folder-snapshot.js';
import type { HostFolder } from './host-folder.js';
import { writeStreamTo } from './review-io.js';
import type { HistorySummary } from './review-types.js';

const pathStat = z.object({ type: z.enum(['file', 'dir', 'symlink', 'special']), size: z.number(), mtimeMs: z.number(), ino: z.number(), mode: z.number() });
const beforeSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('absent') }),
  z.object({ type: z.literal('file'), blob: z.string(), mode: z.number(), mtimeMs: z.number(), size: z.number() }),
  z.object({ type: z.literal('symlink'), target: z.string() }),
  z.object({ type: z.literal('dir'), mode: z.number() }),
]);
/** What a path was before an apply. */
export type Before = z.infer<typeof beforeSchema>;

const entrySchema = z.object({
  version: z.literal(1),
  id: z.string(),
  /** `apply`: user-visible, undoable. `rollback`: an undo's own safety copy, removed when it ends. */
  kind: z.enum(['apply', 'rollback']),
  state: z.enum(['pending', 'applied', 'undone']),
  at: z.number(),
  bytes: z.number(),
  records: z.array(z.object({ path: z.string(), before: beforeSchema, after: pathStat.nullable().optional() })),
});
/** One history entry. */
export type HistoryEntry = z.infer<typeof entrySchema>;

const rowSchema = z.object({ id: z.string(), kind: z.enum(['apply', 'rollback']), state: z.enum(['pending', 'applied', 'undone']), at: z.number(), bytes: z.number(), paths: z.number() });
/** One entry as the history's index holds it (without its records). */
export type HistoryRow = z.infer<typeof rowSchema>;

function rowOf(e: HistoryEntry): HistoryRow {
  return { id: e.id, kind: e.kind, state: e.state, at: e.at, bytes: e.bytes, paths: e.records.length };
}

/** Limits of a workspace's history. */
export interface HistoryLimits {
  maxBytes: number;
  maxAgeMs: number;
}

/** Default limits: 2 GiB, 30 days. */
export const DEFAULT_HISTORY_LIMITS: HistoryLimits = { maxBytes: 2 * 1024 ** 3, maxAgeMs: 30 * 24 * 3600 * 1000 };

/** The history folder of one workspace. */
export class ReviewHistory {
  private cache: Map<string, HistoryRow> | null = null;

  constructor(readonly dir: string, readonly limits: HistoryLimits = DEFAULT_HISTORY_LIMITS) {}

  /** Where entry `id`'s blob `name` lives. */
  blobPath(id: string, name: string): string {
    return join(this.dir, id, 'blobs', name);
  }

  /** Keeps the previous version of `path` (now `pre` on the host) as blob `n` of entry `id`. */
  async saveBefore(id: string, host: HostFolder, path: string, pre: PathStat | null, n: number): Promise<{ before: Before; bytes: number }> {
    if (!pre) return { before: { type: 'absent' }, bytes: 0 };
    if (pre.type === 'dir') return { before: { type: 'dir', mode: pre.mode }, bytes: 0 };
    if (pre.type === 'symlink') return { before: { type: 'symlink', target: await host.readlink(path) }, bytes: 0 };
    if (pre.type !== 'file') throw new VivError('invalidState', `${path} is not a regular file on your computer; it is not touched`);
    const name = String(n);
    const blob = this.blobPath(id, name);
    await mkdir(join(this.dir, id, 'blobs'), { recursive: true, mode: 0o700 });
    const linked = await host.at(path, async (hostPath) => {
      const st = await lstat(hostPath);
      if (!st.isFile() || st.ino !== pre.ino) throw changed(path);
      if (st.nlink !== 1) return false;
      try {
        await link(hostPath, blob);
      } catch {
        return false;
      }
      const got = await lstat(blob);
      if (got.ino === pre.ino) return true;
      await rm(blob, { force: true });
      throw changed(path);
    });
    if (!linked) {
      const src = await host.openFile(path);
      if (!src) throw changed(path);
      try {
        const st = await src.stat();
        if (!st.isFile() || st.ino !== pre.ino) throw changed(path);
        const dst = await open(blob, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o600);
        try {
          await writeStreamTo(dst, src.createReadStream({ autoClose: false, start: 0 }));
          await dst.sync();
        } finally {
          await dst.close();
        }
      } finally {
        await src.close();
      }
    }
    return { before: { type: 'file', blob: name, mode: pre.mode, mtimeMs: pre.mtimeMs, size: pre.size }, bytes: pre.size };
  }

  /** Writes entry `e` durably (its blobs' folder is fsynced first). */
  async write(e: HistoryEntry): Promise<void> {
    await mkdir(join(this.dir, e.id), { recursive: true, mode: 0o700 });
    await syncDir(join(this.dir, e.id, 'blobs'));
    await writeFileAtomic(join(this.dir, e.id, 'entry.json'), JSON.stringify(e));
    const rows = await this.rows();
    rows.set(e.id, rowOf(e));
    await this.saveRows(rows);
  }

  /** Reads entry `id`; null when it does not exist. */
  async read(id: string): Promise<HistoryEntry | null> {
    try {
      return entrySchema.parse(JSON.parse(await readFile(join(this.dir, id, 'entry.json'), 'utf8')));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new VivError('internal', `The apply history entry ${id} is unreadable: ${(e as Error).message}`, e);
    }
  }

  /** Deletes entry `id` and its blobs. */
  async remove(id: string): Promise<void> {
    await rm(join(this.dir, id), { recursive: true, force: true });
    const rows = await this.rows();
    if (rows.delete(id)) await this.saveRows(rows);
  }

  /** Every apply entry (not its records), oldest first. */
  async entries(): Promise<HistoryRow[]> {
    return [...(await this.rows()).values()].filter((r) => r.kind === 'apply').sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
  }

  /** The newest applied (not undone) entry younger than the age limit, or null. */
  async latestUndoable(now = Date.now()): Promise<HistoryEntry | null> {
    const last = (await this.entries()).filter((e) => e.state !== 'pending').at(-1);
    return last && last.state === 'applied' && now - last.at <= this.limits.maxAgeMs ? this.read(last.id) : null;
  }

  /** Summaries for the window, newest first. */
  async summaries(): Promise<HistorySummary[]> {
    return (await this.entries()).filter((e) => e.state !== 'pending').reverse()
      .map((e) => ({ applyId: e.id, at: e.at, paths: e.paths, bytes: e.bytes, undone: e.state === 'undone' }));
  }

  /**
   * Drops undone entries and those past the age limit, then the oldest ones while the total is
   * over the size limit. The newest applied entry stays while it is undoable (younger than the
   * age limit), whatever its size.
   */
  async prune(now = Date.now()): Promise<string[]> {
    const all = (await this.entries()).filter((e) => e.state !== 'pending');
    const last = all.at(-1);
    const keep = last && last.state === 'applied' && now - last.at <= this.limits.maxAgeMs ? last.id : null;
    const removed: string[] = [];
    let total = all.reduce((s, e) => s + e.bytes, 0);
    for (const e of all) {
      if (e.id === keep) continue;
      if (now - e.at > this.limits.maxAgeMs || total > this.limits.maxBytes || e.state === 'undone') {
        await this.remove(e.id);
        removed.push(e.id);
        total -= e.bytes;
      }
    }
    return removed;
  }

  /** The index of entries (`index.json`), rebuilt from the entries when missing or unreadable. */
  private async rows(): Promise<Map<string, HistoryRow>> {
    if (this.cache) return this.cache;
    let rows: Map<string, HistoryRow> | null = null;
    try {
      const parsed = z.array(rowSchema).parse(JSON.parse(await readFile(join(this.dir, 'index.json'), 'utf8')));
      rows = new Map(parsed.map((r) => [r.id, r]));
    } catch {
      rows = new Map();
      for (const id of await readdir(this.dir).catch(() => [] as string[])) {
        const e = await this.read(id).catch(() => null);
        if (e) rows.set(e.id, rowOf(e));
      }
    }
    this.cache = rows;
    return rows;
  }

  private async saveRows(rows: Map<string, HistoryRow>): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dir, 'index.json'), JSON.stringify([...rows.values()]));
  }
}

function changed(path: string): VivError {
  return new VivError('invalidState', `${path} changed on your computer during the apply; nothing was applied`);
}
