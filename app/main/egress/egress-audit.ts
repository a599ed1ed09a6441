/**
 * The egress audit log: one JSON line per proxied request, kept with the task that made it
 * (`tasks/<id>/egress.jsonl`, beside task.json and output.log; see tasks/task-store.ts).
 * Requests no task can be tied to go to a per-workspace file the core chooses. Each file is
 * capped; past the cap one marker line is written and later records are counted, not kept.
 */
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { egressRecordSchema } from '../../shared/contract-schemas.js';

/** File name of a task's egress log inside `tasks/<id>/`. */
export const EGRESS_LOG_FILE = 'egress.jsonl';

/**
 * One proxied request as logged: the contract's record shape (app/shared), so what the file holds
 * is exactly what the window shows. `bytesUp`/`bytesDown` count bytes to/from the destination.
 */
export { egressRecordSchema };
export type EgressRecord = z.infer<typeof egressRecordSchema>;

/** The line written once when a file reaches its cap. */
export const egressTruncationSchema = z.object({ time: z.string(), truncated: z.literal(true), capBytes: z.number() });

/** Where records go. */
export interface EgressAuditSink {
  record(entry: EgressRecord): void;
}

/** Options of the file-backed log. */
export interface AuditLogOptions {
  /** The data folder's `tasks/` folder. */
  tasksDir: string;
  /** File for requests that carry no task (e.g. from an interactive shell). */
  unattributedPath: string;
  /** Cap per file in bytes. */
  capBytes?: number;
}

interface FileState {
  size: number | null;
  truncated: boolean;
  dropped: number;
  chain: Promise<void>;
}

/** Appends records to per-task JSON-lines files, in order per file. */
export class EgressAuditLog implements EgressAuditSink {
  private readonly files = new Map<string, FileState>();
  private readonly cap: number;
  /** The first write failure, kept so `flush` can report it (the proxy MUST NOT fail because of it). */
  failure: Error | null = null;

  constructor(private readonly opts: AuditLogOptions) {
    this.cap = opts.capBytes ?? 4 * 1024 * 1024;
  }

  /** The log file of a task, or the unattributed file for `null`. */
  pathFor(taskId: string | null): string {
    if (taskId === null) return this.opts.unattributedPath;
    // Task ids are minted by the core; refuse anything that could leave tasks/.
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(taskId)) return this.opts.unattributedPath;
    return join(this.opts.tasksDir, taskId, EGRESS_LOG_FILE);
  }

  /** Queues a record; never throws (a failed write is kept in `failure`). */
  record(entry: EgressRecord): void {
    const path = this.pathFor(entry.taskId);
    let f = this.files.get(path);
    if (!f) {
      f = { size: null, truncated: false, dropped: 0, chain: Promise.resolve() };
      this.files.set(path, f);
    }
    const state = f;
    const line = `${JSON.stringify(entry)}\n`;
    state.chain = state.chain.then(async () => {
      try {
        if (state.size === null) {
          await mkdir(dirname(path), { recursive: true, mode: 0o700 });
          state.size = await stat(path).then((s) => s.size, () => 0);
          state.truncated = state.size >= this.cap;
        }
        if (state.truncated) {
          state.dropped++;
          return;
        }
        if (state.size + Buffer.byteLength(line) > this.cap) {
          state.truncated = true;
          state.dropped++;
          await appendFile(path, `${JSON.stringify({ time: entry.time, truncated: true, capBytes: this.cap })}\n`, { mode: 0o600 });
          return;
        }
        await appendFile(path, line, { mode: 0o600 });
        state.size += Buffer.byteLength(line);
      } catch (e) {
        this.failure ??= e as Error;
      }
    });
  }

  /** Records counted but not kept because a file was full. */
  droppedCount(): number {
    let n = 0;
    for (const f of this.files.values()) n += f.dropped;
    return n;
  }

  /** Waits for every queued write. */
  async flush(): Promise<void> {
    await Promise.all([...this.files.values()].map((f) => f.chain));
  }
}

/** Reads a log file: the valid records, and a note for each unreadable line. A missing file is empty. */
export async function readEgressLog(path: string): Promise<{ records: EgressRecord[]; truncated: boolean; problems: string[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], truncated: false, problems: [] };
    throw e;
  }
  const records: EgressRecord[] = [];
  const problems: string[] = [];
  let truncated = false;
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push(`line ${i + 1} of ${path} is not JSON`);
      return;
    }
    const rec = egressRecordSchema.safeParse(value);
    if (rec.success) records.push(rec.data);
    else if (egressTruncationSchema.safeParse(value).success) truncated = true;
    else problems.push(`line ${i + 1} of ${path} is not an egress record`);
  });
  return { records, truncated, problems };
}

/** The log as JSON lines for export: every valid record, one per line, in order. */
export async function exportEgressLog(path: string): Promise<string> {
  const { records } = await readEgressLog(path);
  return records.map((r) => `${JSON.stringify(r)}\n`).join('');
}
