/**
 * The gateway's audit log: one JSON line per API call, kept with the task that made it in
 * `tasks/<id>/gateway.jsonl` (beside egress.jsonl), or in the VM's folder for calls no task can
 * be tied to. Same rules as the egress log: ordered appends per file, a cap per file after
 * which one marker line is written, and a write failure never fails the call.
 */
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import { gatewayRecordSchema } from '../../shared/contract-schemas.js';

/** File name of a task's gateway log inside `tasks/<id>/`. */
export const GATEWAY_LOG_FILE = 'gateway.jsonl';

/** One API call as logged: the contract's record (the window reads the same shape through gateway:log). */
export { gatewayRecordSchema };
export type GatewayRecord = z.infer<typeof gatewayRecordSchema>;

/** Where records go. */
export interface GatewayAuditSink {
  record(entry: GatewayRecord): void;
}

interface FileState {
  size: number | null;
  truncated: boolean;
  chain: Promise<void>;
}

/** Appends records to per-task JSON-lines files, in order per file. */
export class GatewayAuditLog implements GatewayAuditSink {
  private readonly files = new Map<string, FileState>();
  /** The first write failure, kept for `flush` callers to report. */
  failure: Error | null = null;

  constructor(private readonly opts: { tasksDir: string; unattributedPath: string; capBytes?: number }) {}

  /** The log file of a task, or the unattributed file for `null` or an id that could leave tasks/. */
  pathFor(taskId: string | null): string {
    if (taskId === null || !/^[A-Za-z0-9_-]{1,128}$/.test(taskId)) return this.opts.unattributedPath;
    return join(this.opts.tasksDir, taskId, GATEWAY_LOG_FILE);
  }

  /** Queues a record; never throws. */
  record(entry: GatewayRecord): void {
    const path = this.pathFor(entry.taskId);
    const cap = this.opts.capBytes ?? 4 * 1024 * 1024;
    let state = this.files.get(path);
    if (!state) {
      state = { size: null, truncated: false, chain: Promise.resolve() };
      this.files.set(path, state);
    }
    const f = state;
    const line = `${JSON.stringify(entry)}\n`;
    f.chain = f.chain.then(async () => {
      try {
        if (f.size === null) {
          await mkdir(dirname(path), { recursive: true, mode: 0o700 });
          f.size = await stat(path).then((s) => s.size, () => 0);
          f.truncated = f.size >= cap;
        }
        if (f.truncated) return;
        if (f.size + Buffer.byteLength(line) > cap) {
          f.truncated = true;
          await appendFile(path, `${JSON.stringify({ time: entry.time, truncated: true, capBytes: cap })}\n`, { mode: 0o600 });
          return;
        }
        await appendFile(path, line, { mode: 0o600 });
        f.size += Buffer.byteLength(line);
      } catch (e) {
        this.failure ??= e as Error;
      }
    });
  }

  /** Waits for every queued write. */
  async flush(): Promise<void> {
    await Promise.all([...this.files.values()].map((f) => f.chain));
  }
}

/** Reads a gateway log: its valid records (unreadable lines and the cap marker are skipped). */
export async function readGatewayLog(path: string): Promise<GatewayRecord[]> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  const out: GatewayRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = gatewayRecordSchema.safeParse(JSON.parse(line));
      if (r.success) out.push(r.data);
    } catch {
      // A torn last line after a crash; the rest is still worth reading.
    }
  }
  return out;
}
