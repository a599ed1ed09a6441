/**
 * Classification (issue 15): from the validated staged entries and the host folder's current
 * state, the list of host paths that would change: added / modified / deleted, with the
 * reasons a change is refused, protected or in conflict. Overlay rules: a whiteout deletes
 * the host path (and everything below it); an opaque folder, or a folder that replaces a
 * non-folder, hides the lower folder, so the host's other contents below it are deleted; a
 * copied-up file with the same bytes and mode is not a change.
 */
import { createHash } from 'node:crypto';
import type { Baseline } from './baseline-store.js';
import type { ChangeSource } from './change-source.js';
import { SNIFF_BYTES, sniffKind } from './content-kind.js';
import { toPathStat, type PathStat } from './folder-snapshot.js';
import { UnsafeParentError, type HostFolder } from './host-folder.js';
import { mapLimit, readPrefix, sameBytes } from './review-io.js';
import { summarize, type ChangeList, type ChangeStatus, type PathType, type ReviewChange } from './review-types.js';
import { applyRules, conflictReason, modeOutcome, propagateDependencies } from './change-rules.js';
import type { Refusal, ValidEntry } from './staged-validation.js';
import { parentOf, type StagedTree } from './staged-tree.js';

/** A change with what apply needs to know about both sides. */
export interface ChangeDetail {
  change: ReviewChange;
  /** The staged entry; null for deletions that follow from a whiteout or replaced folder above. */
  staged: ValidEntry | null;
  /** The host copy when classified; null = absent. */
  host: PathStat | null;
}

/** The change list plus the details apply works from. */
export interface Classification {
  list: ChangeList;
  details: Map<string, ChangeDetail>;
}

type Look = { stat: PathStat | null } | { unsafe: string };
type ContentJob = { d: ChangeDetail; how: 'compare' | 'sniffStaged' | 'sniffHost' };

/** Classifies a validated listing against the host folder. `baselineOf` gives each path's baseline. */
export async function classifyChanges(
  tree: StagedTree,
  host: HostFolder,
  source: ChangeSource,
  baselineOf: (paths: string[]) => Promise<Map<string, Baseline>>,
  concurrency = 16,
): Promise<Classification> {
  const details = new Map<string, ChangeDetail>();
  const jobs: ContentJob[] = [];
  const looks = new Map<string, Promise<Look>>();
  const look = (p: string): Promise<Look> => {
    let l = looks.get(p);
    if (!l) {
      l = host.lstat(p).then((st): Look => ({ stat: st ? toPathStat(st) : null }), (e: unknown): Look => {
        if (e instanceof UnsafeParentError) return { unsafe: e.message };
        throw e;
      });
      looks.set(p, l);
    }
    return l;
  };
  const hostStat = async (p: string): Promise<PathStat | null> => {
    const l = await look(p);
    return 'stat' in l ? l.stat : null;
  };

  const add = (path: string, status: ChangeStatus, type: PathType, staged: ValidEntry | null, h: PathStat | null, stagedPath: string): ChangeDetail => {
    const existing = details.get(path);
    if (existing) return existing;
    const change: ReviewChange = { path, status, type, contentChanged: status !== 'modified', modeChanged: false, stagedPath, version: '', notices: [] };
    if (h && status !== 'added') {
      if (h.type !== type) change.previousType = h.type;
      if (h.type === 'file') change.previousSize = h.size;
      if (h.type !== 'symlink') change.previousMode = h.mode;
    }
    if (staged && status !== 'deleted') {
      if (staged.type === 'file') change.size = staged.size;
      if (staged.type === 'file' || staged.type === 'dir') change.mode = staged.mode & 0o777;
      if (staged.linkTarget !== undefined) change.linkTarget = staged.linkTarget;
    }
    if (h && h.type !== type) change.contentChanged = true;
    const d: ChangeDetail = { change, staged, host: h };
    details.set(path, d);
    return d;
  };
  const refuseAs = (d: ChangeDetail, r: Refusal): void => {
    d.change.refused ??= { code: r.code, reason: r.reason };
  };

  const effOpaqueMemo = new Map<string, Promise<boolean>>();
  const effOpaque = (p: string): Promise<boolean> => {
    if (p === '') return Promise.resolve(false);
    let m = effOpaqueMemo.get(p);
    if (!m) {
      m = (async () => {
        const s = tree.valid.get(p);
        if (!s || s.type !== 'dir') return false;
        if (s.opaque) return true;
        const h = await hostStat(p);
        return (h !== null && h.type !== 'dir') || effOpaque(parentOf(p));
      })();
      effOpaqueMemo.set(p, m);
    }
    return m;
  };

  const parentMemo = new Map<string, Promise<Refusal | null>>();
  const folderProblem = (d: string): Promise<Refusal | null> => {
    if (d === '') return Promise.resolve(null);
    let m = parentMemo.get(d);
    if (!m) {
      m = (async (): Promise<Refusal | null> => {
        const up = await folderProblem(parentOf(d));
        if (up) return up;
        const r = tree.refused.get(d);
        if (r) return { code: 'dependency', reason: `its folder ${d} is refused: ${r.refusal.reason}` };
        const s = tree.valid.get(d);
        if (s) {
          if (s.type === 'dir') return null;
          if (s.type === 'symlink') return { code: 'insideSymlink', reason: `inside ${d}, which the VM staged as a symbolic link` };
          return { code: 'parentMissing', reason: `inside ${d}, which the VM staged as ${s.type === 'whiteout' ? 'deleted' : `a ${s.type}`}` };
        }
        if (await effOpaque(parentOf(d))) return { code: 'parentMissing', reason: `its folder ${d} is hidden by a replaced folder above it` };
        const l = await look(d);
        if ('unsafe' in l) return { code: 'insideSymlink', reason: l.unsafe };
        if (!l.stat) return { code: 'parentMissing', reason: `its folder ${d} is neither staged nor on your computer` };
        if (l.stat.type === 'symlink') return { code: 'insideSymlink', reason: `its folder ${d} is a symbolic link on your computer, which is never followed` };
        if (l.stat.type !== 'dir') return { code: 'parentMissing', reason: `${d} is not a folder on your computer` };
        return null;
      })();
      parentMemo.set(d, m);
    }
    return m;
  };

  const deleteTree = async (q: string, stagedPath: string, includeRoot: boolean): Promise<void> => {
    const h = await hostStat(q);
    if (!h) return;
    if (includeRoot && !details.has(q)) {
      const d = add(q, 'deleted', h.type, null, h, stagedPath);
      if (h.type === 'special') refuseAs(d, { code: 'hostSpecial', reason: 'a FIFO, socket or device on your computer, which undo could not restore, so it is not deleted' });
      if (h.type === 'file') jobs.push({ d, how: 'sniffHost' });
      if (h.type === 'symlink') d.change.previousLinkTarget = await host.readlink(q);
    }
    if (h.type !== 'dir') return;
    for (const name of (await host.readdir(q)).sort()) await deleteTree(`${q}/${name}`, stagedPath, true);
  };

  const staged = [...tree.valid.keys(), ...tree.refused.keys()].sort();
  // Look every staged path and its folder up on the host in parallel first: the walk below
  // then finds them memoised instead of waiting on one lstat at a time.
  const toLook = new Set<string>();
  for (const p of staged) {
    if (!tree.valid.has(p) && !tree.refused.get(p)!.nameOk) continue;
    toLook.add(p);
    if (parentOf(p) !== '') toLook.add(parentOf(p));
  }
  await mapLimit([...toLook], concurrency * 2, (p) => look(p));
  for (const p of staged) {
    const e = tree.valid.get(p);
    const rejectedName = !e && !tree.refused.get(p)!.nameOk;
    const l: Look = rejectedName ? { stat: null } : await look(p);
    const h = 'stat' in l ? l.stat : null;
    const problem: Refusal | null = e ? await folderProblem(parentOf(p)) : tree.refused.get(p)!.refusal;
    const eType = e?.type ?? tree.refused.get(p)!.type;
    if (problem || 'unsafe' in l) {
      const status: ChangeStatus = eType === 'whiteout' ? 'deleted' : h ? 'modified' : 'added';
      const d = add(p, status, toType(eType, h), null, h, p);
      refuseAs(d, problem ?? { code: 'insideSymlink', reason: (l as { unsafe: string }).unsafe });
      continue;
    }
    const s = e!;
    switch (s.type) {
      case 'whiteout':
        await deleteTree(p, p, true);
        break;
      case 'fifo': case 'socket': case 'char': case 'block':
        refuseAs(add(p, h ? 'modified' : 'added', 'special', s, h, p), { code: 'specialFile', reason: `a ${s.type === 'fifo' ? 'FIFO' : s.type === 'socket' ? 'socket' : 'device node'}, which is never applied` });
        break;
      case 'dir': {
        if (h?.type === 'dir') {
          const m = modeOutcome(s.mode, h.mode);
          if (m.modeChanged) Object.assign(add(p, 'modified', 'dir', s, h, p).change, { modeChanged: true, contentChanged: false });
          if (await effOpaque(p)) {
            for (const name of (await host.readdir(p)).sort()) {
              const q = `${p}/${name}`;
              if (!tree.valid.has(q) && !tree.refused.has(q)) await deleteTree(q, p, true);
            }
          }
        } else {
          add(p, h ? 'modified' : 'added', 'dir', s, h, p);
        }
        break;
      }
      case 'file': {
        const d = add(p, h ? 'modified' : 'added', 'file', s, h, p);
        if (h?.type === 'file') {
          d.change.contentChanged = s.size !== h.size;
          d.change.modeChanged = s.mode !== h.mode;
          jobs.push({ d, how: d.change.contentChanged ? 'sniffStaged' : 'compare' });
        } else {
          jobs.push({ d, how: 'sniffStaged' });
          if (h?.type === 'dir') await deleteTree(p, p, false);
        }
        break;
      }
      case 'symlink': {
        if (h?.type === 'symlink') {
          const was = await host.readlink(p);
          if (was !== s.linkTarget) Object.assign(add(p, 'modified', 'symlink', s, h, p).change, { previousLinkTarget: was, contentChanged: true });
        } else {
          add(p, h ? 'modified' : 'added', 'symlink', s, h, p);
          if (h?.type === 'dir') await deleteTree(p, p, false);
        }
        break;
      }
    }
  }

  await mapLimit(jobs, concurrency, (j) => readContent(j, host, source));
  for (const d of [...details.values()]) {
    const c = d.change;
    if (c.status === 'modified' && d.host?.type === c.type && !c.contentChanged && !c.modeChanged && !c.refused) details.delete(c.path);
  }

  const baselines = await baselineOf([...details.keys()]);
  for (const d of details.values()) {
    if (d.host?.type === 'special' && d.change.status !== 'deleted') {
      refuseAs(d, { code: 'hostSpecial', reason: 'replaces a FIFO, socket or device on your computer, which undo could not restore' });
    }
    const conflict = conflictReason(baselines.get(d.change.path), d.host);
    if (conflict) d.change.conflict = { reason: conflict };
  }
  await applyRules(details, tree, hostStat);
  propagateDependencies(details);
  for (const d of details.values()) d.change.version = versionOf(d);
  const changes = [...details.values()].map((d) => d.change).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { list: { changes, invalid: tree.invalid, summary: summarize(changes, tree.invalid) }, details };
}

async function readContent(j: ContentJob, host: HostFolder, source: ChangeSource): Promise<void> {
  const c = j.d.change;
  try {
    if (j.how === 'sniffHost') {
      const fh = await host.openFile(c.path);
      if (!fh) return;
      try {
        const buf = Buffer.alloc(SNIFF_BYTES);
        const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
        c.contentKind = sniffKind(buf.subarray(0, bytesRead), (j.d.host?.size ?? 0) > bytesRead);
      } finally {
        await fh.close();
      }
      return;
    }
    const stream = await source.open(c.path);
    if (j.how === 'sniffStaged') {
      const { bytes, truncated } = await readPrefix(stream, SNIFF_BYTES);
      c.contentKind = sniffKind(bytes, truncated);
      return;
    }
    const fh = await host.openFile(c.path);
    if (!fh) {
      stream.destroy();
      c.contentChanged = true;
      return;
    }
    try {
      const r = await sameBytes(stream, fh, j.d.host!.size, SNIFF_BYTES);
      c.contentChanged = !r.equal;
      c.contentKind = sniffKind(r.prefix, r.truncated);
    } finally {
      await fh.close();
    }
  } catch (e) {
    c.refused ??= { code: 'invalidEntry', reason: `could not be read (${(e as Error).message}); it may have changed since it was listed` };
  }
}

function toType(t: string | null, h: PathStat | null): PathType {
  if (t === 'file' || t === 'dir' || t === 'symlink') return t;
  if (t === 'whiteout') return h?.type ?? 'file';
  return t === null ? 'file' : 'special';
}

function versionOf(d: ChangeDetail): string {
  const s = d.staged;
  const key = [d.change.status, s && [s.type, s.size, s.mode, s.mtimeMs, s.ino, s.linkTarget ?? null], d.host && [d.host.type, d.host.size, d.host.mtimeMs, d.host.ino, d.host.mode]];
  return createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
}

/** The staged mode outcome, re-exported for the planner. */
export { modeOutcome };
