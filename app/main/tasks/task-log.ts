/**
 * A task's output log: append-only, capped in size. Once the cap is reached a visible marker
 * line is appended and further output is counted but not kept. Writes are queued in order;
 * `append` returns false when too much is queued so the producer can pause (backpressure keeps
 * the core's memory bounded however fast a task prints).
 */
import { EventEmitter } from 'node:events';
import { open, type FileHandle } from 'node:fs/promises';

/** The marker line written once when the cap is hit. */
export function truncationMarker(capBytes: number): string {
  return `\r\n[vivarium: output truncated — the log reached its limit of ${capBytes} bytes; later output was not kept]\r\n`;
}

const HIGH_WATER = 1024 * 1024;

/** Events: `data` (offset, bytes) for every byte kept, in order; `drain` when the queue emptied. */
export class TaskLog extends EventEmitter<{ data: [number, Buffer]; drain: [] }> {
  /** Bytes accepted into the log (including the marker). */
  size: number;
  truncated = false;
  droppedBytes = 0;
  private queued = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;

  private constructor(private readonly fh: FileHandle, readonly capBytes: number, initialSize: number) {
    super();
    this.size = initialSize;
  }

  /** Opens (creating, mode 0600) the log at `path` for appending. */
  static async open(path: string, capBytes: number): Promise<TaskLog> {
    const fh = await open(path, 'a', 0o600);
    const { size } = await fh.stat();
    return new TaskLog(fh, capBytes, size);
  }

  /** Appends output; returns false when the caller should pause until `drain`. */
  append(chunk: Buffer): boolean {
    if (this.truncated) {
      this.droppedBytes += chunk.length;
      return true;
    }
    const room = this.capBytes - this.size;
    let keep = chunk.length <= room ? chunk : chunk.subarray(0, Math.max(0, room));
    if (keep.length < chunk.length) {
      this.truncated = true;
      this.droppedBytes += chunk.length - keep.length;
      keep = Buffer.concat([keep, Buffer.from(truncationMarker(this.capBytes))]);
    }
    if (keep.length === 0) return true;
    const offset = this.size;
    this.size += keep.length;
    this.queued += keep.length;
    this.emit('data', offset, keep);
    this.chain = this.chain.then(async () => {
      if (!this.failure) {
        try {
          await this.fh.write(keep);
        } catch (e) {
          this.failure = e as Error;
        }
      }
      this.queued -= keep.length;
      if (this.queued === 0) this.emit('drain');
    });
    return this.queued < HIGH_WATER;
  }

  /** Waits for queued writes and closes the file. Rejects if any write failed. */
  async close(): Promise<void> {
    await this.chain;
    await this.fh.close();
    if (this.failure) throw this.failure;
  }
}

/** Reads the log from `offset`; when more than `maxBytes` follow, returns the last `maxBytes` (truncated: true). */
export async function readLogRange(path: string, offset: number, maxBytes: number): Promise<{ offset: number; data: Buffer; truncated: boolean }> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { offset, data: Buffer.alloc(0), truncated: false };
    throw e;
  }
  try {
    const { size } = await fh.stat();
    const start = Math.min(offset, size);
    const from = size - start > maxBytes ? size - maxBytes : start;
    const data = Buffer.alloc(size - from);
    if (data.length) await fh.read(data, 0, data.length, from);
    return { offset: from, data, truncated: from > start };
  } finally {
    await fh.close();
  }
}
