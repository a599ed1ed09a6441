/**
 * The apply journal (`<review data>/journal.json`): what an apply or undo is about to do to the
 * folder, written (fsync, rename) before the first change to the folder, so a crash halfway is
 * rolled back at the next start. Semantics are all-or-nothing: an operation that did not reach
 * `done` is rolled back, and the journal's final state says which happened.
 *
 *   preparing  → temp files and history are being written; the folder is untouched
 *   committing → temp files are fsynced (their inodes recorded); renames and removals run
 *   done       → the folder is fully changed (history holds the undo data)
 *   rolledBack → the folder is as before (`leftovers` names paths that could not be restored)
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../state/atomic-file.js';

const pathStat = z.object({ type: z.enum(['file', 'dir', 'symlink', 'special']), size: z.number(), mtimeMs: z.number(), ino: z.number(), mode: z.number() });

/** One step of the commit, in order. */
export const applyOpSchema = z.discriminatedUnion('op', [
  /** Removes a file, link or (empty by then) folder that is `pre`. */
  z.object({ op: z.literal('remove'), path: z.string(), pre: pathStat }),
  /** Creates a folder (0700 until its final mode is set by a later chmod). */
  z.object({ op: z.literal('mkdir'), path: z.string() }),
  /** Renames temp `temp` (made during prepare, inode `tempIno`) onto `path`, which is `pre` before. */
  z.object({
    op: z.literal('put'),
    path: z.string(),
    kind: z.enum(['file', 'symlink']),
    temp: z.string(),
    tempIno: z.number().nullable(),
    pre: pathStat.nullable(),
  }),
  /** Sets permission bits; `pre` null for a folder this operation created. */
  z.object({ op: z.literal('chmod'), path: z.string(), mode: z.number(), pre: pathStat.nullable() }),
]);
export type ApplyOp = z.infer<typeof applyOpSchema>;

/** A path the rollback could not put back, and why. */
export const leftoverSchema = z.object({ path: z.string(), reason: z.string() });

/** The journal file. */
export const journalSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  kind: z.enum(['apply', 'undo']),
  state: z.enum(['preparing', 'committing', 'done', 'rolledBack']),
  startedAt: z.number(),
  finishedAt: z.number().optional(),
  ops: z.array(applyOpSchema),
  /** The history entry holding the previous versions of every touched path. */
  historyId: z.string(),
  /** For a finished apply: the staged paths to drop from the VM, and whether that happened. */
  drop: z.array(z.string()).default([]),
  dropped: z.boolean().default(false),
  leftovers: z.array(leftoverSchema).default([]),
  /**
   * Touched paths whose host copy matched its conflict baseline when the operation started:
   * after a rollback their baseline is their restored copy (a restored file is a new inode).
   * Paths confirmed over a conflict are not listed, so they stay conflicts.
   */
  cleanPaths: z.array(z.string()).default([]),
  /** Why it was rolled back. */
  reason: z.string().optional(),
});
export type Journal = z.infer<typeof journalSchema>;

/** The journal's path in a workspace's review data folder. */
export function journalPath(dataDir: string): string {
  return join(dataDir, 'journal.json');
}

/** Writes the journal durably (fsync of the file and its folder, then rename). */
export async function writeJournal(dataDir: string, j: Journal): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(journalPath(dataDir), JSON.stringify(j));
}

/** Reads the journal; null when there is none. A corrupt journal is an error, never ignored. */
export async function readJournal(dataDir: string): Promise<Journal | null> {
  let text: string;
  try {
    text = await readFile(journalPath(dataDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return journalSchema.parse(JSON.parse(text));
}
