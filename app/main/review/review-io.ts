/**
 * Small I/O helpers of review mode: bounded concurrency, reading a stream's prefix, and
 * comparing a staged stream with a host file without holding either in memory.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/**
 * Runs `fn` over `items` with at most `limit` in flight; results keep the input order. On a
 * failure no new item starts, and it rejects only once every started item has settled (callers
 * close what the items use right after, so nothing may still be running).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        failed ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw (failed as { error: unknown }).error;
  return out;
}

/** Reads up to `max` bytes from the start of `stream`, then destroys it. `truncated` when more followed. */
export async function readPrefix(stream: Readable, max: number): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let n = 0;
  let truncated = false;
  try {
    for await (const c of stream) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
      chunks.push(b);
      n += b.length;
      if (n > max) {
        truncated = true;
        break;
      }
    }
  } finally {
    stream.destroy();
  }
  return { bytes: Buffer.concat(chunks).subarray(0, max), truncated };
}

/** Reads a whole stream, refusing one longer than `max` bytes. */
export async function readAll(stream: Readable, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of stream) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
      n += b.length;
      if (n > max) return null;
      chunks.push(b);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}

/**
 * True when `stream` holds exactly the bytes of host file `fh` (of `size` bytes). Also returns
 * the first `prefixMax` staged bytes, for sniffing, so a small file is read once.
 */
export async function sameBytes(stream: Readable, fh: FileHandle, size: number, prefixMax: number): Promise<{ equal: boolean; prefix: Buffer; truncated: boolean }> {
  let offset = 0;
  const prefixParts: Buffer[] = [];
  let prefixLen = 0;
  let equal = true;
  try {
    for await (const c of stream) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
      if (prefixLen < prefixMax) {
        prefixParts.push(b.subarray(0, prefixMax - prefixLen));
        prefixLen += Math.min(b.length, prefixMax - prefixLen);
      }
      if (offset + b.length > size) {
        equal = false;
        break;
      }
      const host = Buffer.allocUnsafe(b.length);
      const { bytesRead } = await fh.read(host, 0, b.length, offset);
      if (bytesRead !== b.length || !host.equals(b)) {
        equal = false;
        break;
      }
      offset += b.length;
    }
  } finally {
    stream.destroy();
  }
  return { equal: equal && offset === size, prefix: Buffer.concat(prefixParts), truncated: size > prefixLen };
}

/** Writes all of `stream` into `fh` at its current position; returns the byte count. */
export async function writeStreamTo(fh: FileHandle, stream: Readable): Promise<number> {
  let n = 0;
  try {
    for await (const c of stream) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array);
      await fh.write(b);
      n += b.length;
    }
  } finally {
    stream.destroy();
  }
  return n;
}
