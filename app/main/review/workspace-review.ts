/**
 * Review mode's host side for one workspace (issue 15): list the staged changes, diff one,
 * apply (one, selected, all, or a protected/conflicting path confirmed by name), discard, undo
 * the last apply, and the summary `viv` prints. The core wires one per review-mode workspace:
 * `folder` is the granted canonical folder, `dataDir` the workspace's review data folder
 * (journal, history, baselines), `source` the VM's ChangeSource while it runs.
 *
 * Operations MUST run one at a time per workspace (a queue here); `recover()` MUST run before
 * the first operation after a start, so an apply interrupted by a crash is rolled back first.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { VivError } from '../../shared/errors.js';
import { runPlan, type EngineHooks } from './apply-engine.js';
import { readJournal, writeJournal, type Journal } from './apply-journal.js';
import { dropList, planApply, planUndo, undoConflict } from './apply-plan.js';
import { rollbackJournal } from './apply-rollback.js';
import { BaselineStore } from './baseline-store.js';
import { classifyChanges, type Classification } from './change-classifier.js';
import type { FileDiff } from './change-diff.js';
import { selectChanges } from './change-selection.js';
import type { ChangeSource } from './change-source.js';
import { readDiff } from './diff-reader.js';
import { toPathStat, type PathStat } from './folder-snapshot.js';
import { HostFolder } from './host-folder.js';
import { DEFAULT_HISTORY_LIMITS, ReviewHistory, type HistoryLimits } from './review-history.js';
import type { ApplyResult, ChangeList, ChangeSummary, HistorySummary, SkippedPath, UndoResult } from './review-types.js';
import { parentOf, readStagedTree, type StagedTree } from './staged-tree.js';

/** How a WorkspaceReview is made. */
export interface WorkspaceReviewOptions {
  /** The granted folder (canonical path). */
  folder: string;
  /** The workspace's review data folder, e.g. `<data>/review/<workspaceId>`. */
  dataDir: string;
  /** The VM's staged changes; null while the VM is not running. */
  source?: ChangeSource | null;
  /** Name rules of this host (Windows refuses more names); defaults to this platform. */
  platform?: NodeJS.Platform;
  /** Whether the folder's file system folds case (macOS and Windows by default). */
  caseInsensitive?: boolean;
  history?: Partial<HistoryLimits>;
  /** Test hooks of the apply engine (crash tests). */
  hooks?: EngineHooks;
}

/** What a discard did. */
export interface DiscardResult {
  discarded: string[];
  skipped: SkippedPath[];
}

/** Review mode for one workspace. */
export class WorkspaceReview {
  readonly history: ReviewHistory;
  private readonly baselines: BaselineStore;
  private source: ChangeSource | null;
  private queue: Promise<unknown> = Promise.resolve();
  /** The last list()'s classification, for diff(); dropped by anything that changes either side. */
  private listed: Classification | null = null;
  private readonly platform: NodeJS.Platform;
  private readonly caseInsensitive: boolean;

  constructor(private readonly opts: WorkspaceReviewOptions) {
    this.source = opts.source ?? null;
    this.platform = opts.platform ?? process.platform;
    this.caseInsensitive = opts.caseInsensitive ?? (this.platform === 'darwin' || this.platform === 'win32');
    this.history = new ReviewHistory(join(opts.dataDir, 'history'), { ...DEFAULT_HISTORY_LIMITS, ...opts.history });
    this.baselines = new BaselineStore(join(opts.dataDir, 'baseline'));
  }

  /** Sets (or clears, when the VM stops) where the staged changes are read from. */
  setSource(source: ChangeSource | null): void {
    this.source = source;
    this.listed = null;
  }

  /** Rolls back an apply or undo a crash interrupted; returns the journal (null when none). */
  recover(): Promise<Journal | null> {
    return this.serial(async () => {
      const j = await readJournal(this.opts.dataDir);
      if (!j || j.state === 'done' || j.state === 'rolledBack') return j;
      const host = await HostFolder.open(this.opts.folder);
      try {
        j.leftovers = await rollbackJournal(host, j, this.history);
        await this.resetAfterRollback(host, j);
      } finally {
        await host.close();
      }
      j.state = 'rolledBack';
      j.finishedAt = Date.now();
      j.reason = `the app stopped during the ${j.kind}; the folder was put back as it was before`;
      await writeJournal(this.opts.dataDir, j);
      if (j.leftovers.length === 0) await this.history.remove(j.historyId);
      return j;
    });
  }

  /** The last apply or undo's journal (what it did), or null. */
  journal(): Promise<Journal | null> {
    return readJournal(this.opts.dataDir);
  }

  /** Records the folder's state as a task starts (the baseline of conflicts). */
  recordTaskStart(taskId: string): Promise<void> {
    return this.serial(async () => {
      await this.baselines.record(this.opts.folder, taskId);
    });
  }

  /** The staged changes, classified now. */
  list(): Promise<ChangeList> {
    return this.serial(() => this.withClassification(async ({ cls }) => {
      this.listed = cls;
      return cls.list;
    }));
  }

  /** Counts for `viv` and the task detail. */
  async summary(): Promise<ChangeSummary> {
    return (await this.list()).summary;
  }

  /**
   * The diff of one changed path. Both sides' bytes are read now; what the path is (its entry
   * in the change list) comes from the last list() when it holds the path, so diffing the files
   * of a 20,000-change list one by one does not classify it 20,000 times. Apply classifies anew
   * and refuses a path whose version changed.
   */
  diff(path: string): Promise<FileDiff> {
    return this.serial(async () => {
      const source = this.requireSource();
      const cached = this.listed?.details.get(path);
      if (cached) {
        const host = await HostFolder.open(this.opts.folder);
        try {
          return await readDiff(cached, host, source);
        } finally {
          await host.close();
        }
      }
      return this.withClassification(async ({ cls, host }) => {
        this.listed = cls;
        const d = cls.details.get(path);
        if (!d) throw new VivError('notFound', `${path} is not a staged change`);
        return readDiff(d, host, source);
      });
    });
  }

  /**
   * Applies the given changes ('all' = every change that is neither refused, protected nor in
   * conflict). `expect` pins the versions the user reviewed: a change that differs is skipped.
   */
  apply(paths: readonly string[] | 'all', expect: Readonly<Record<string, string>> = {}): Promise<ApplyResult> {
    return this.serial(() => this.applyNow(paths, new Set(), expect, new Map()));
  }

  /**
   * Applies one protected or conflicting path the user confirmed by name. `sha256` (from its
   * diff) pins the exact bytes confirmed; `version` the listing entry.
   */
  applyConfirmed(path: string, pin: { version?: string; sha256?: string } = {}): Promise<ApplyResult> {
    const expect = pin.version ? { [path]: pin.version } : {};
    const sha = new Map(pin.sha256 ? [[path, pin.sha256]] : []);
    return this.serial(() => this.applyNow([path], new Set([path]), expect, sha));
  }

  /** Discards staged changes: their staged entries (and everything below them) leave the VM. */
  discard(paths: readonly string[] | 'all'): Promise<DiscardResult> {
    return this.serial(() => this.withClassification(async ({ cls, tree, source }) => {
      const skipped: SkippedPath[] = [];
      const entries = new Set<string>();
      if (paths === 'all') {
        for (const p of [...tree.valid.keys(), ...tree.refused.keys()]) entries.add(p);
      } else {
        for (const p of paths) {
          const d = cls.details.get(p);
          if (d) entries.add(d.change.stagedPath);
          else skipped.push({ path: p, reason: 'it is not a staged change' });
        }
      }
      const top = topmost(entries);
      if (top.length === 0) return { discarded: [], skipped };
      await source.drop(top);
      const discarded = [...cls.details.values()].filter((d) => top.some((t) => d.change.stagedPath === t || d.change.path === t || d.change.path.startsWith(`${t}/`)));
      await this.baselines.reset(new Map(discarded.map((d) => [d.change.path, d.host])));
      await this.resetIfEmpty(source);
      return { discarded: discarded.map((d) => d.change.path).sort(), skipped };
    }));
  }

  /** Puts the folder back as before the last apply; paths changed since are left and reported. */
  undo(): Promise<UndoResult> {
    return this.serial(async () => {
      await this.requireNoOpenJournal();
      this.listed = null;
      const e = await this.history.latestUndoable();
      if (!e) throw new VivError('notFound', 'There is no apply to undo');
      const host = await HostFolder.open(this.opts.folder);
      try {
        const current = new Map<string, PathStat | null>();
        const conflicts: SkippedPath[] = [];
        for (const r of e.records) {
          const st = await host.lstat(r.path).catch(() => null);
          current.set(r.path, st ? toPathStat(st) : null);
          const why = undoConflict(r.after, current.get(r.path)!);
          if (why) conflicts.push({ path: r.path, reason: why });
        }
        // A path that must go (or change type) cannot while something below it stays.
        const skip = new Set(conflicts.map((c) => c.path));
        for (const c of [...conflicts]) {
          for (let a = parentOf(c.path); a !== ''; a = parentOf(a)) {
            const r = e.records.find((x) => x.path === a);
            if (r && r.before.type !== 'dir' && !skip.has(a)) {
              skip.add(a);
              conflicts.push({ path: a, reason: `${c.path} inside it changed on your computer since the apply` });
            }
          }
        }
        const steps = await planUndo(e, this.history, current, skip, host);
        const id = randomUUID();
        const r = await runPlan({ id, kind: 'undo', steps, drop: () => [], host, dataDir: this.opts.dataDir, history: this.history, source: null, hooks: this.opts.hooks });
        await this.history.remove(r.historyId);
        e.state = 'undone';
        await this.history.write(e);
        await this.baselines.reset(r.after);
        return { applyId: e.id, restored: e.records.map((x) => x.path).filter((p) => !skip.has(p)), conflicts };
      } finally {
        await host.close();
      }
    });
  }

  /** The apply history, newest first. */
  historySummaries(): Promise<HistorySummary[]> {
    return this.history.summaries();
  }

  private async applyNow(paths: readonly string[] | 'all', confirmed: ReadonlySet<string>, expect: Readonly<Record<string, string>>, sha: ReadonlyMap<string, string>): Promise<ApplyResult> {
    await this.requireNoOpenJournal();
    return this.withClassification(async ({ cls, tree, host, source }) => {
      const { chosen, skipped } = selectChanges(cls.details, paths, confirmed, expect);
      if (chosen.size === 0) return { applyId: null, applied: [], skipped };
      const steps = await planApply([...chosen].map((p) => cls.details.get(p)!), host, sha);
      const id = randomUUID();
      const cleanPaths = [...chosen].filter((p) => !cls.details.get(p)!.change.conflict);
      const drop = (landed: ReadonlySet<string>): string[] => dropList(tree, cls.details, landed);
      const r = await runPlan({ id, kind: 'apply', steps, drop, cleanPaths, host, dataDir: this.opts.dataDir, history: this.history, source, hooks: this.opts.hooks })
        .catch(async (e: unknown) => {
          const j = await readJournal(this.opts.dataDir);
          if (j?.state === 'rolledBack') await this.resetAfterRollback(host, j);
          throw e;
        });
      const excluded = new Set(r.excluded.map((x) => x.path));
      const applied = new Set([...chosen].filter((p) => !excluded.has(p)));
      await this.baselines.reset(new Map([...applied].map((p) => [p, r.after.get(p) ?? null])));
      await this.flushDrops(source);
      await this.resetIfEmpty(source);
      await this.history.prune();
      return { applyId: r.historyId, applied: [...applied].sort(), skipped: [...skipped, ...r.excluded] };
    });
  }

  /** Drops applied entries from the VM when a crash or a stopped VM left them staged. */
  private async flushDrops(source: ChangeSource, j?: Journal | null): Promise<void> {
    const journal = j ?? (await readJournal(this.opts.dataDir));
    if (!journal || journal.state !== 'done' || journal.dropped) return;
    if (journal.drop.length > 0) await source.drop(journal.drop);
    journal.dropped = true;
    await writeJournal(this.opts.dataDir, journal);
  }

  /** When nothing is staged any more, older baselines are replaced by one fresh snapshot. */
  private async resetIfEmpty(source: ChangeSource): Promise<void> {
    const left = await source.list();
    if (Array.isArray(left) && left.length === 0) await this.baselines.resetAll(this.opts.folder);
  }

  private requireSource(): ChangeSource {
    if (!this.source) throw new VivError('invalidState', "The workspace's VM is not running, so its staged changes cannot be read; start it first");
    return this.source;
  }

  private async withClassification<T>(fn: (c: { cls: Classification; tree: StagedTree; host: HostFolder; source: ChangeSource }) => Promise<T>): Promise<T> {
    const source = this.requireSource();
    this.listed = null;
    await this.flushDrops(source);
    const host = await HostFolder.open(this.opts.folder);
    try {
      const tree = await readStagedTree(source, this.platform, this.caseInsensitive);
      const cls = await classifyChanges(tree, host, source, (paths) => this.baselines.baselines(paths));
      return await fn({ cls, tree, host, source });
    } finally {
      await host.close();
    }
  }

  /** After a rollback, the restored copies of clean paths are their new baseline (see Journal.cleanPaths). */
  private async resetAfterRollback(host: HostFolder, j: Journal): Promise<void> {
    const left = new Set(j.leftovers.map((l) => l.path));
    const stats = new Map<string, PathStat | null>();
    for (const p of j.cleanPaths) {
      if (left.has(p)) continue;
      const st = await host.lstat(p).catch(() => null);
      stats.set(p, st ? toPathStat(st) : null);
    }
    if (stats.size > 0) await this.baselines.reset(stats);
  }

  private async requireNoOpenJournal(): Promise<void> {
    const j = await readJournal(this.opts.dataDir);
    if (j && (j.state === 'preparing' || j.state === 'committing')) {
      throw new VivError('invalidState', `An earlier ${j.kind} did not finish; it is rolled back at the next start (recover)`);
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/** The entries of `paths` that are not below another one of them. */
function topmost(paths: Iterable<string>): string[] {
  const all = new Set(paths);
  return [...all].filter((p) => {
    for (let a = parentOf(p); a !== ''; a = parentOf(a)) if (all.has(a)) return false;
    return true;
  }).sort();
}
