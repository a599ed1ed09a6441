/**
 * Runs a plan of folder changes (an apply, or an undo) all-or-nothing (issue 15):
 *
 *  1. journal `preparing` (fsync) — names every temp file about to exist;
 *  2. history: the previous version of every touched path (fsync);
 *  3. temp files beside their targets (in the nearest folder that exists), written, chmod'ed,
 *     fsynced; staged bytes are counted (and hashed when a digest was confirmed);
 *  4. every target is checked against what the plan expects (a path changed meanwhile stops
 *     the apply before anything happened);
 *  5. journal `committing` with the temp files' inodes (fsync) — the history and the journal
 *     are durable before the first rename;
 *  6. removals (deepest first), folders (parents first), renames, modes (deepest first), each
 *     checked against the expected host copy right before it runs;
 *  7. folders fsynced, history `applied` with the new state of every path, journal `done`.
 *
 * Any failure rolls back (apply-rollback.ts); a crash is rolled back at the next start. Every
 * host operation goes through HostFolder, which never follows a link.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { VivError, toVivError } from '../../shared/errors.js';
import { writeJournal, type ApplyOp, type Journal } from './apply-journal.js';
import { rollbackJournal, type Leftover } from './apply-rollback.js';
import type { ChangeSource } from './change-source.js';
import { sameStat, toPathStat, type PathStat } from './folder-snapshot.js';
import type { HostFolder } from './host-folder.js';
import { mapLimit } from './review-io.js';
import type { Before, HistoryEntry, ReviewHistory } from './review-history.js';
import { parentOf } from './staged-tree.js';

/** Where a put's bytes come from. */
export type PutContent =
  | { kind: 'staged'; size: number; sha256?: string }
  | { kind: 'blob'; blobPath: string; size: number; mtimeMs: number }
  | { kind: 'symlink'; target: string };

/** One planned step (ApplyOp plus what prepare needs). */
export type PlanStep =
  | { op: 'remove'; path: string; pre: PathStat }
  | { op: 'mkdir'; path: string }
  | { op: 'put'; path: string; pre: PathStat | null; content: PutContent; mode: number; tempDir: string; optional?: boolean }
  | { op: 'chmod'; path: string; mode: number; pre: PathStat | null };

/** Test hooks (crash tests): after each prepared temp file, each commit step, and once the journal says done. */
export interface EngineHooks {
  onStep?(phase: 'prepare' | 'commit' | 'done', n: number): void | Promise<void>;
}

/** What runPlan needs. */
export interface RunPlanInput {
  id: string;
  kind: 'apply' | 'undo';
  steps: PlanStep[];
  /** The staged entries to drop from the VM once done, given the paths that landed (excluded puts left out). */
  drop: (landed: ReadonlySet<string>) => string[];
  /** Paths not in conflict (see Journal.cleanPaths). */
  cleanPaths?: string[];
  host: HostFolder;
  dataDir: string;
  history: ReviewHistory;
  source: ChangeSource | null;
  hooks?: EngineHooks;
}

/** What a finished plan did. */
export interface RunPlanResult {
  /** Puts left out because the staged bytes changed since they were listed or confirmed. */
  excluded: { path: string; reason: string }[];
  /** The host state of every touched path afterwards. */
  after: Map<string, PathStat | null>;
  historyId: string;
}

const PREPARE_CONCURRENCY = 8;
const CHECK_CONCURRENCY = 16;

/** Runs a plan; on failure the folder is as before and the error says why. */
export async function runPlan(input: RunPlanInput): Promise<RunPlanResult> {
  const { id, steps, host, dataDir, history } = input;
  const historyId = input.kind === 'apply' ? id : `${id}-rollback`;
  const ops: ApplyOp[] = steps.map((s, i) => s.op === 'put'
    ? { op: 'put', path: s.path, kind: s.content.kind === 'symlink' ? 'symlink' : 'file', temp: tempName(s.tempDir, id, i), tempIno: null, pre: s.pre }
    : s.op === 'remove' ? { op: 'remove', path: s.path, pre: s.pre }
      : s.op === 'mkdir' ? { op: 'mkdir', path: s.path } : { op: 'chmod', path: s.path, mode: s.mode, pre: s.pre });
  const journal: Journal = { version: 1, id, kind: input.kind, state: 'preparing', startedAt: Date.now(), ops, historyId, drop: [], dropped: false, leftovers: [], cleanPaths: input.cleanPaths ?? [] };
  await writeJournal(dataDir, journal);

  const excluded: RunPlanResult['excluded'] = [];
  const skip = new Set<number>();
  try {
    // The previous version of each path: the host copy before the first step that touches it.
    const first = new Map<string, PathStat | null>();
    for (const s of steps) if (!first.has(s.path)) first.set(s.path, s.op === 'mkdir' ? null : s.op === 'chmod' && !s.pre ? null : s.pre);
    const paths = [...first.keys()];
    const befores = await mapLimit(paths, PREPARE_CONCURRENCY, (p, n) => history.saveBefore(historyId, host, p, first.get(p)!, n));
    const entry: HistoryEntry = {
      version: 1, id: historyId, kind: input.kind === 'apply' ? 'apply' : 'rollback', state: 'pending', at: Date.now(),
      bytes: befores.reduce((sum, b) => sum + b.bytes, 0),
      records: paths.map((path, n) => ({ path, before: befores[n]!.before as Before })),
    };
    await history.write(entry);

    let prepared = 0;
    await mapLimit(steps, PREPARE_CONCURRENCY, async (s, i) => {
      if (s.op !== 'put') return;
      const op = ops[i] as Extract<ApplyOp, { op: 'put' }>;
      const why = await writeTemp(input, s, op);
      if (why) {
        excluded.push({ path: s.path, reason: why });
        skip.add(i);
      }
      await input.hooks?.onStep?.('prepare', ++prepared);
    });
    await mapLimit(paths, CHECK_CONCURRENCY, async (p) => {
      const now = await host.lstat(p);
      if (!sameStat(first.get(p)!, now ? toPathStat(now) : null)) throw changedDuring(p);
    });
    journal.ops = ops.filter((_, i) => !skip.has(i));
    journal.state = 'committing';
    await writeJournal(dataDir, journal);

    // Removals, folders and modes run one at a time in plan order; puts touch distinct paths
    // whose folders exist by then, so they run side by side — only where folders are opened
    // without following links (race-free): the lstat-checked fallback checks, then acts, and
    // MUST NOT widen that window with other renames in flight.
    const putConcurrency = host.raceFree ? CHECK_CONCURRENCY : 1;
    let n = 0;
    const live = steps.map((s, i) => i).filter((i) => !skip.has(i));
    const commit = async (i: number): Promise<void> => {
      await commitStep(host, steps[i]!, ops[i]!);
      await input.hooks?.onStep?.('commit', ++n);
    };
    const isPut = (i: number): boolean => steps[i]!.op === 'put';
    for (const i of live.filter((i) => !isPut(i) && steps[i]!.op !== 'chmod')) await commit(i);
    await mapLimit(live.filter(isPut), putConcurrency, commit);
    for (const i of live.filter((i) => steps[i]!.op === 'chmod')) await commit(i);
    await mapLimit([...new Set(steps.map((s) => parentOf(s.path)))], CHECK_CONCURRENCY, (dir) => host.syncDir(dir));

    const after = new Map<string, PathStat | null>();
    await mapLimit(paths, CHECK_CONCURRENCY, async (p) => {
      const st = await host.lstat(p);
      after.set(p, st ? toPathStat(st) : null);
    });
    entry.state = 'applied';
    const touched = new Set(steps.filter((_, i) => !skip.has(i)).map((s) => s.path));
    entry.records = entry.records.filter((r) => touched.has(r.path)).map((r) => ({ ...r, after: after.get(r.path) ?? null }));
    await history.write(entry);
    journal.state = 'done';
    journal.finishedAt = Date.now();
    journal.drop = input.drop(new Set(steps.filter((_, i) => !skip.has(i)).map((s) => s.path)));
    await writeJournal(dataDir, journal);
    await input.hooks?.onStep?.('done', 0);
    return { excluded, after, historyId };
  } catch (e) {
    const leftovers = await rollbackJournal(host, journal, history).catch((re: unknown): Leftover[] => [{ path: '.', reason: `rollback failed: ${(re as Error).message}` }]);
    journal.state = 'rolledBack';
    journal.finishedAt = Date.now();
    journal.leftovers = leftovers;
    journal.reason = (e as Error).message;
    await writeJournal(dataDir, journal);
    if (leftovers.length === 0) await history.remove(historyId);
    const err = toVivError(e);
    const tail = leftovers.length > 0 ? ` Some paths could not be put back: ${leftovers.map((l) => `${l.path} (${l.reason})`).join('; ')}.` : ' Nothing was changed.';
    throw new VivError(err.code, `${err.message}${err.message.endsWith('.') ? '' : '.'}${tail}`, err.cause ?? e);
  }
}

/** Writes one put's temp entry; returns why it was left out, or null. */
async function writeTemp(input: RunPlanInput, s: Extract<PlanStep, { op: 'put' }>, op: Extract<ApplyOp, { op: 'put' }>): Promise<string | null> {
  const { host } = input;
  if (s.content.kind === 'symlink') {
    await host.symlink(op.temp, s.content.target);
    op.tempIno = (await host.lstat(op.temp))!.ino;
    return null;
  }
  const fh = await host.createFile(op.temp, 0o600);
  let why: string | null = null;
  try {
    let stream: Readable;
    if (s.content.kind === 'staged') {
      if (!input.source) throw new VivError('invalidState', 'The VM is not running, so its staged changes cannot be read');
      stream = await input.source.open(s.path);
    } else {
      stream = createReadStream(s.content.blobPath);
    }
    const hash = createHash('sha256');
    let n = 0;
    const expected = s.content.size;
    try {
      for await (const chunk of stream) {
        const b = chunk as Buffer;
        n += b.length;
        if (n > expected) break;
        hash.update(b);
        await fh.write(b);
      }
    } finally {
      stream.destroy();
    }
    if (n !== expected) why = 'its staged content changed while it was being applied; refresh and apply it again';
    else if (s.content.kind === 'staged' && s.content.sha256 && hash.digest('hex') !== s.content.sha256) why = 'its staged content changed since you reviewed it';
    if (why && !s.optional) throw new VivError('invalidState', `${s.path}: ${why}`);
    if (!why) {
      await fh.chmod(s.mode);
      if (s.content.kind === 'blob') await fh.utimes(s.content.mtimeMs / 1000, s.content.mtimeMs / 1000);
      await fh.datasync(); // the bytes and the size; the rename is made durable by the folder's fsync
      op.tempIno = (await fh.stat()).ino;
    }
  } finally {
    await fh.close();
  }
  if (why) await host.unlink(op.temp);
  return why;
}

async function commitStep(host: HostFolder, s: PlanStep, op: ApplyOp): Promise<void> {
  const now = await host.lstat(s.path);
  const cur = now ? toPathStat(now) : null;
  switch (s.op) {
    case 'remove':
      if (!sameStat(s.pre, cur)) throw changedDuring(s.path);
      if (s.pre.type === 'dir') await host.rmdir(s.path).catch((e: NodeJS.ErrnoException) => {
        throw e.code === 'ENOTEMPTY' || e.code === 'EEXIST' ? new VivError('invalidState', `${s.path} gained files on your computer during the apply`, e) : e;
      });
      else await host.unlink(s.path);
      return;
    case 'mkdir':
      if (cur) throw changedDuring(s.path);
      await host.mkdir(s.path, 0o700);
      return;
    case 'put':
      if (!sameStat(s.pre, cur)) throw changedDuring(s.path);
      await host.rename((op as Extract<ApplyOp, { op: 'put' }>).temp, s.path);
      return;
    case 'chmod':
      if (!cur || (s.pre ? !sameStat(s.pre, cur) : cur.type !== 'dir')) throw changedDuring(s.path);
      await host.chmod(s.path, s.mode, cur.ino);
      return;
  }
}

/** The temp name of step `i` of operation `id` in folder `dir`. */
export function tempName(dir: string, id: string, i: number): string {
  const name = `.viv-${id.slice(0, 12)}-${i}.tmp`;
  return dir ? `${dir}/${name}` : name;
}

function changedDuring(path: string): VivError {
  return new VivError('invalidState', `${path} changed on your computer during the apply, so nothing was applied; review it again`);
}
