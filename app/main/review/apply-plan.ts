/**
 * From the changes chosen to apply (or an apply to undo) to the ordered steps the engine runs:
 * removals deepest first (a folder after what is inside it), new folders parents first, puts,
 * then modes deepest first (a read-only folder gets its mode after its contents land). Also
 * which changes a chosen one needs (the folder it goes into, the removals below a folder it
 * removes), and which staged entries can be dropped from the VM once applied.
 */
import type { ChangeDetail } from './change-classifier.js';
import { sameStat, type PathStat } from './folder-snapshot.js';
import type { HostFolder } from './host-folder.js';
import type { PlanStep } from './apply-engine.js';
import type { HistoryEntry, ReviewHistory } from './review-history.js';
import { parentOf, type StagedTree } from './staged-tree.js';

const depth = (p: string): number => p.split('/').length;

/** True when the change removes a host folder (deleted, or replaced by a non-folder). */
export function removesHostFolder(d: ChangeDetail): boolean {
  return d.host?.type === 'dir' && (d.change.status === 'deleted' || d.change.type !== 'dir');
}

/** True when the change makes a folder that is not on the host (added, or replacing a non-folder). */
export function createsFolder(d: ChangeDetail): boolean {
  return d.change.status !== 'deleted' && d.change.type === 'dir' && d.host?.type !== 'dir';
}

/** The changes `path` needs besides itself: folders to create above it, removals below it. */
export function requirements(path: string, details: ReadonlyMap<string, ChangeDetail>, sortedPaths: readonly string[]): string[] {
  const out: string[] = [];
  for (let a = parentOf(path); a !== ''; a = parentOf(a)) {
    const d = details.get(a);
    if (!d || !createsFolder(d)) break;
    out.push(a);
  }
  const self = details.get(path);
  if (self && removesHostFolder(self)) {
    const prefix = `${path}/`;
    let i = lowerBound(sortedPaths, prefix);
    for (; i < sortedPaths.length && sortedPaths[i]!.startsWith(prefix); i++) out.push(sortedPaths[i]!);
  }
  return out;
}

/** Builds the engine's steps for the chosen changes (each with its requirements already included). */
export async function planApply(chosen: readonly ChangeDetail[], host: HostFolder, sha256: ReadonlyMap<string, string>): Promise<PlanStep[]> {
  const removes: PlanStep[] = [];
  const mkdirs: PlanStep[] = [];
  const puts: Extract<PlanStep, { op: 'put' }>[] = [];
  const chmods: PlanStep[] = [];
  for (const d of chosen) {
    const { change: c, staged: s, host: h } = d;
    if (c.status === 'deleted') {
      removes.push({ op: 'remove', path: c.path, pre: h! });
      continue;
    }
    if (!s) continue;
    const replaced = h !== null && h.type !== c.type;
    if (replaced) removes.push({ op: 'remove', path: c.path, pre: h });
    const pre = replaced ? null : h;
    const mode = s.mode & 0o777;
    if (s.type === 'dir') {
      if (!pre) {
        mkdirs.push({ op: 'mkdir', path: c.path });
        chmods.push({ op: 'chmod', path: c.path, mode, pre: null });
      } else if (c.modeChanged) chmods.push({ op: 'chmod', path: c.path, mode, pre });
    } else if (s.type === 'file') {
      if (!pre || c.contentChanged) {
        const sha = sha256.get(c.path);
        puts.push({ op: 'put', path: c.path, pre, content: { kind: 'staged', size: s.size, ...(sha ? { sha256: sha } : {}) }, mode, tempDir: '', optional: !replaced });
      } else if (c.modeChanged) chmods.push({ op: 'chmod', path: c.path, mode, pre });
    } else if (s.type === 'symlink' && s.linkTarget !== undefined) {
      puts.push({ op: 'put', path: c.path, pre, content: { kind: 'symlink', target: s.linkTarget }, mode: 0, tempDir: '' });
    }
  }
  return order(removes, mkdirs, puts, chmods, host);
}

/**
 * Builds the steps that put back the paths of history entry `e`, except `skip` (conflicts).
 * `current` is each path's host state now (checked equal to the entry's `after` by the caller).
 */
export async function planUndo(e: HistoryEntry, history: ReviewHistory, current: ReadonlyMap<string, PathStat | null>, skip: ReadonlySet<string>, host: HostFolder): Promise<PlanStep[]> {
  const removes: PlanStep[] = [];
  const mkdirs: PlanStep[] = [];
  const puts: Extract<PlanStep, { op: 'put' }>[] = [];
  const chmods: PlanStep[] = [];
  for (const r of e.records) {
    if (skip.has(r.path)) continue;
    const cur = current.get(r.path) ?? null;
    const b = r.before;
    const wantType = b.type === 'absent' ? null : b.type;
    const mustRemove = cur !== null && (wantType === null || cur.type !== wantType);
    if (mustRemove) removes.push({ op: 'remove', path: r.path, pre: cur });
    const pre = mustRemove ? null : cur;
    if (b.type === 'dir') {
      if (!pre) {
        mkdirs.push({ op: 'mkdir', path: r.path });
        chmods.push({ op: 'chmod', path: r.path, mode: b.mode, pre: null });
      } else if (pre.mode !== b.mode) chmods.push({ op: 'chmod', path: r.path, mode: b.mode, pre });
    } else if (b.type === 'file') {
      puts.push({ op: 'put', path: r.path, pre, content: { kind: 'blob', blobPath: history.blobPath(e.id, b.blob), size: b.size, mtimeMs: b.mtimeMs }, mode: b.mode, tempDir: '' });
    } else if (b.type === 'symlink') {
      puts.push({ op: 'put', path: r.path, pre, content: { kind: 'symlink', target: b.target }, mode: 0, tempDir: '' });
    }
  }
  return order(removes, mkdirs, puts, chmods, host);
}

async function order(removes: PlanStep[], mkdirs: PlanStep[], puts: Extract<PlanStep, { op: 'put' }>[], chmods: PlanStep[], host: HostFolder): Promise<PlanStep[]> {
  const byDepthDesc = (a: PlanStep, b: PlanStep): number => depth(b.path) - depth(a.path) || (a.path < b.path ? 1 : -1);
  removes.sort(byDepthDesc);
  mkdirs.sort((a, b) => depth(a.path) - depth(b.path) || (a.path < b.path ? -1 : 1));
  puts.sort((a, b) => (a.path < b.path ? -1 : 1));
  chmods.sort(byDepthDesc);
  // A temp file goes in the nearest folder above its target that exists now and stays: the
  // target's own folder when it exists, else an ancestor on the same file system.
  const removed = new Set(removes.filter((r) => r.op === 'remove' && r.pre.type === 'dir').map((r) => r.path));
  const usable = new Map<string, Promise<boolean>>();
  const isUsable = (d: string): Promise<boolean> => {
    let u = usable.get(d);
    if (!u) {
      u = removed.has(d) ? Promise.resolve(false) : host.lstat(d).then((st) => !!st?.isDirectory(), () => false);
      usable.set(d, u);
    }
    return u;
  };
  for (const p of puts) {
    let d = parentOf(p.path);
    while (d !== '' && !(await isUsable(d))) d = parentOf(d);
    p.tempDir = d;
  }
  return [...removes, ...mkdirs, ...puts, ...chmods];
}

/**
 * Which staged entries to drop from the VM after `applied` landed: an entry every change of
 * which landed, and a folder all of whose staged entries below were dropped. Anything else
 * stays staged (a refused entry, a change not applied, a byte-identical copy the guest may
 * still be writing). Only the topmost of nested drops is listed.
 */
export function dropList(tree: StagedTree, details: ReadonlyMap<string, ChangeDetail>, applied: ReadonlySet<string>): string[] {
  const pending = new Set<string>();
  const landed = new Set<string>();
  for (const d of details.values()) (applied.has(d.change.path) ? landed : pending).add(d.change.stagedPath);
  const staged = [...tree.valid.keys(), ...tree.refused.keys()].sort((a, b) => depth(b) - depth(a) || (a < b ? -1 : 1));
  const droppable = new Set<string>();
  const blocked = new Set<string>();
  const withDropped = new Set<string>();
  for (const p of staged) {
    const own = landed.has(p);
    const isDir = tree.valid.get(p)?.type === 'dir';
    const stays = tree.refused.has(p) || pending.has(p) || blocked.has(p) || !(own || (isDir && withDropped.has(p)));
    if (stays) {
      for (let a = parentOf(p); a !== ''; a = parentOf(a)) blocked.add(a);
    } else {
      droppable.add(p);
      withDropped.add(parentOf(p));
    }
  }
  return [...droppable].filter((p) => {
    for (let a = parentOf(p); a !== ''; a = parentOf(a)) if (droppable.has(a)) return false;
    return true;
  }).sort();
}

/** Why an undo cannot put `path` back (its host copy changed since the apply), or null. */
export function undoConflict(after: PathStat | null | undefined, now: PathStat | null): string | null {
  return after === undefined || sameStat(after, now) ? null : 'changed on your computer since the apply';
}

function lowerBound(a: readonly string[], x: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
