/**
 * The UI-facing output stream of one task: collects kept log bytes and emits at most one chunk
 * per interval. When output arrives faster than a viewer can use, only the newest `maxBytes`
 * are kept per interval (the chunk's offset tells the viewer where the gap is; the full text
 * stays in the log). Chunks are cut on UTF-8 character boundaries.
 */
import type { TaskOutputChunk } from '../../shared/contract-schemas.js';

/** Throttles one task's output for subscribers. */
export class OutputThrottle {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingOffset = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastEmit = 0;

  constructor(
    private readonly taskId: string,
    private readonly emit: (chunk: TaskOutputChunk) => void,
    private readonly intervalMs = 100,
    private readonly maxBytes = 64 * 1024,
  ) {}

  /** Adds bytes kept at `offset` of the log. */
  push(offset: number, bytes: Buffer): void {
    if (this.pendingBytes === 0) this.pendingOffset = offset;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes > this.maxBytes * 2) this.compact();
    if (!this.timer) {
      const wait = Math.max(0, this.lastEmit + this.intervalMs - Date.now());
      this.timer = setTimeout(() => this.flush(false), wait);
    }
  }

  /** Emits what is pending now (at task end); `final` also emits an incomplete trailing character. */
  flush(final = true): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pendingBytes === 0) return;
    this.compact();
    let buf = Buffer.concat(this.pending);
    let rest = Buffer.alloc(0);
    if (!final) {
      const cut = completeUtf8Length(buf);
      rest = buf.subarray(cut);
      buf = buf.subarray(0, cut);
    }
    const offset = this.pendingOffset;
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    this.pendingOffset = offset + buf.length;
    this.lastEmit = Date.now();
    if (buf.length) this.emit({ taskId: this.taskId, offset, data: buf.toString('utf8') });
    if (rest.length && !this.timer) this.timer = setTimeout(() => this.flush(false), this.intervalMs);
  }

  /** Stops the timer without emitting. */
  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Keeps only the newest maxBytes, starting on a character boundary. */
  private compact(): void {
    if (this.pendingBytes <= this.maxBytes) return;
    const all = Buffer.concat(this.pending);
    let start = all.length - this.maxBytes;
    while (start < all.length && (all[start]! & 0xc0) === 0x80) start++;
    this.pending = [all.subarray(start)];
    this.pendingOffset += start;
    this.pendingBytes = all.length - start;
  }
}

/** Length of the longest prefix of `buf` that does not end inside a UTF-8 character. */
export function completeUtf8Length(buf: Buffer): number {
  const n = buf.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = buf[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}
