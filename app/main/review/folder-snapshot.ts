/**
 * What the host folder looked like when a task started: size, mtime, inode, mode and type of
 * every path, from a stat walk (no file is read). Apply compares a path's host copy against
 * it: a difference is a conflict. The walk never follows a link (lstat; links are leaves).
 */
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { PathType } from './review-types.js';

/** The recorded state of one host path. */
export interface PathStat {
  type: PathType;
  size: number;
  mtimeMs: number;
  ino: number;
  mode: number;
}

/** A folder's stat walk. `truncated` when it stopped at the entry limit (absence then proves nothing). */
export interface FolderSnapshot {
  takenAt: number;
  taskId: string;
  truncated: boolean;
  entries: Map<string, PathStat>;
}

/** Most paths one snapshot records. */
export const MAX_SNAPSHOT_ENTRIES = 1_000_000;
const STAT_CONCURRENCY = 64;

/** The PathStat of an lstat result. */
export function toPathStat(st: Stats): PathStat {
  const type: PathType = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'special';
  return { type, size: type === 'dir' ? 0 : st.size, mtimeMs: st.mtimeMs, ino: st.ino, mode: st.mode & 0o7777 };
}

/**
 * True when two records describe the same host copy. A folder's size and mtime change with
 * every name added or removed in it, so folders compare by inode and mode only (what is inside
 * is compared path by path).
 */
export function sameStat(a: PathStat | null, b: PathStat | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.type !== b.type || a.ino !== b.ino || a.mode !== b.mode) return false;
  return a.type === 'dir' || (a.size === b.size && a.mtimeMs === b.mtimeMs);
}

/** Walks `root` with lstat and records every path below it (not the root itself). */
export async function statWalk(root: string, taskId: string, maxEntries = MAX_SNAPSHOT_ENTRIES): Promise<FolderSnapshot> {
  const takenAt = Date.now();
  const entries = new Map<string, PathStat>();
  let truncated = false;
  const dirs: string[] = [''];
  while (dirs.length > 0 && !truncated) {
    const batch = dirs.splice(0, STAT_CONCURRENCY);
    const listed = await Promise.all(batch.map((d) => readdir(d ? join(root, d) : root, { withFileTypes: true }).catch(() => [] as Dirent[])));
    const todo: string[] = [];
    batch.forEach((d, i) => {
      for (const ent of listed[i]!) todo.push(d ? `${d}/${ent.name}` : ent.name);
    });
    for (let i = 0; i < todo.length; i += STAT_CONCURRENCY) {
      const chunk = todo.slice(i, i + STAT_CONCURRENCY);
      const stats = await Promise.all(chunk.map((p) => lstat(join(root, p)).catch(() => null)));
      for (let j = 0; j < chunk.length; j++) {
        const st = stats[j];
        if (!st) continue; // removed while walking: absent
        if (entries.size >= maxEntries) {
          truncated = true;
          break;
        }
        const ps = toPathStat(st);
        entries.set(chunk[j]!, ps);
        if (ps.type === 'dir') dirs.push(chunk[j]!);
      }
      if (truncated) break;
    }
  }
  return { takenAt, taskId, truncated, entries };
}

/** The JSON form of a snapshot (one array per path keeps 20,000 paths near 1.5 MB). */
export function encodeSnapshot(s: FolderSnapshot): string {
  const rows = [...s.entries].map(([p, e]) => [p, e.type, e.size, e.mtimeMs, e.ino, e.mode]);
  return JSON.stringify({ version: 1, takenAt: s.takenAt, taskId: s.taskId, truncated: s.truncated, entries: rows });
}

/** Parses encodeSnapshot's output; null when it is not a snapshot (a corrupt file is ignored, not fatal). */
export function decodeSnapshot(text: string): FolderSnapshot | null {
  try {
    const o = JSON.parse(text) as { version?: unknown; takenAt?: unknown; taskId?: unknown; truncated?: unknown; entries?: unknown };
    if (o.version !== 1 || typeof o.takenAt !== 'number' || typeof o.taskId !== 'string' || !Array.isArray(o.entries)) return null;
    const entries = new Map<string, PathStat>();
    for (const r of o.entries as unknown[]) {
      if (!Array.isArray(r) || r.length !== 6 || typeof r[0] !== 'string') return null;
      const [p, type, size, mtimeMs, ino, mode] = r as [string, PathType, number, number, number, number];
      entries.set(p, { type, size, mtimeMs, ino, mode });
    }
    return { takenAt: o.takenAt, taskId: o.taskId, truncated: o.truncated === true, entries };
  } catch {
    return null;
  }
}
