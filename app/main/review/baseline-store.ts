/**
 * The baselines conflicts are judged against, kept in the workspace's review data folder
 * (`<dir>/snapshots/*.json`, `<dir>/resets.json`).
 *
 * Several tasks stage into the same upper layer, so a path's baseline is the EARLIEST snapshot
 * taken since the path was last applied or discarded (the host copy the first of those tasks
 * saw). Apply and discard record a reset per path: the host copy right after them, which is the
 * baseline until a later snapshot exists. When nothing is staged any more, every older record is
 * dropped and one fresh snapshot replaces them. At most `maxSnapshots` are kept: beyond that the
 * second-oldest goes (the oldest carries most baselines; the newest belongs to the running task).
 */
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/atomic-file.js';
import { decodeSnapshot, encodeSnapshot, statWalk, type FolderSnapshot, type PathStat } from './folder-snapshot.js';

/** A path's baseline: its record, null when it was absent, undefined when nothing is known. */
export type Baseline = PathStat | null | undefined;

interface ResetRecord {
  at: number;
  stat: PathStat | null;
}

/** Snapshots and resets of one workspace. */
export class BaselineStore {
  private snapshots: { file: string; snap: FolderSnapshot }[] | null = null;
  private resets: Map<string, ResetRecord> | null = null;
  private seq = 0;

  constructor(private readonly dir: string, private readonly maxSnapshots = 8) {}

  /** Records the folder as a task starts (a stat walk); returns the snapshot. */
  async record(folder: string, taskId: string): Promise<FolderSnapshot> {
    await this.load();
    const snap = await statWalk(folder, taskId);
    await this.add(snap);
    return snap;
  }

  /** Records the host copy of each path right after it was applied or discarded. */
  async reset(paths: ReadonlyMap<string, PathStat | null>, at = Date.now()): Promise<void> {
    const resets = (await this.load()).resets;
    for (const [p, stat] of paths) resets.set(p, { at, stat });
    await this.saveResets();
  }

  /** Nothing is staged any more: forget every record and keep one fresh snapshot. */
  async resetAll(folder: string, taskId = 'reset'): Promise<void> {
    const { snapshots } = await this.load();
    const snap = await statWalk(folder, taskId);
    for (const s of snapshots) await rm(join(this.dir, 'snapshots', s.file), { force: true });
    snapshots.length = 0;
    this.resets = new Map();
    await this.saveResets();
    await this.add(snap);
  }

  /** The baseline of each path (see the file comment for the rule). */
  async baselines(paths: Iterable<string>): Promise<Map<string, Baseline>> {
    const { snapshots, resets } = await this.load();
    const out = new Map<string, Baseline>();
    for (const p of paths) {
      const r = resets.get(p);
      const snap = snapshots.find((s) => !r || s.snap.takenAt >= r.at)?.snap;
      if (snap) out.set(p, snap.entries.get(p) ?? (snap.truncated ? undefined : null));
      else out.set(p, r ? r.stat : undefined);
    }
    return out;
  }

  /** How many snapshots are kept (for tests and diagnostics). */
  async count(): Promise<number> {
    return (await this.load()).snapshots.length;
  }

  private async add(snap: FolderSnapshot): Promise<void> {
    const snapshots = this.snapshots!;
    const file = `${String(snap.takenAt).padStart(15, '0')}-${String(++this.seq).padStart(4, '0')}.json`;
    await mkdir(join(this.dir, 'snapshots'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dir, 'snapshots', file), encodeSnapshot(snap));
    snapshots.push({ file, snap });
    snapshots.sort((a, b) => a.snap.takenAt - b.snap.takenAt || a.file.localeCompare(b.file));
    while (snapshots.length > this.maxSnapshots) {
      const [gone] = snapshots.splice(1, 1);
      await rm(join(this.dir, 'snapshots', gone!.file), { force: true });
    }
    // A reset older than every snapshot excludes none of them: it no longer changes any baseline.
    const oldest = snapshots[0]!.snap.takenAt;
    let pruned = false;
    for (const [p, r] of this.resets!) {
      if (r.at < oldest) {
        this.resets!.delete(p);
        pruned = true;
      }
    }
    if (pruned) await this.saveResets();
  }

  private async load(): Promise<{ snapshots: { file: string; snap: FolderSnapshot }[]; resets: Map<string, ResetRecord> }> {
    if (this.snapshots && this.resets) return { snapshots: this.snapshots, resets: this.resets };
    const snapshots: { file: string; snap: FolderSnapshot }[] = [];
    const names = await readdir(join(this.dir, 'snapshots')).catch(() => [] as string[]);
    for (const file of names.filter((n) => n.endsWith('.json')).sort()) {
      const snap = decodeSnapshot(await readFile(join(this.dir, 'snapshots', file), 'utf8').catch(() => ''));
      if (snap) snapshots.push({ file, snap });
    }
    snapshots.sort((a, b) => a.snap.takenAt - b.snap.takenAt || a.file.localeCompare(b.file));
    const resets = new Map<string, ResetRecord>();
    try {
      const rows = JSON.parse(await readFile(join(this.dir, 'resets.json'), 'utf8')) as unknown;
      if (Array.isArray(rows)) {
        for (const r of rows as [string, number, PathStat | null][]) {
          if (Array.isArray(r) && typeof r[0] === 'string' && typeof r[1] === 'number') resets.set(r[0], { at: r[1], stat: r[2] ?? null });
        }
      }
    } catch {
      // No resets yet (or a corrupt file): every path falls back to the snapshots.
    }
    this.snapshots = snapshots;
    this.resets = resets;
    return { snapshots, resets };
  }

  private async saveResets(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const rows = [...this.resets!].map(([p, r]) => [p, r.at, r.stat]);
    await writeFileAtomic(join(this.dir, 'resets.json'), JSON.stringify(rows));
  }
}
