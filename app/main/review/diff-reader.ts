/**
 * Reads both sides of one change (the host copy through HostFolder, the staged bytes from the
 * ChangeSource), bounded by MAX_DIFF_BYTES, and builds its FileDiff.
 */
import { createHash } from 'node:crypto';
import type { ChangeDetail } from './change-classifier.js';
import { MAX_DIFF_BYTES, textHunks, type FileDiff } from './change-diff.js';
import type { ChangeSource } from './change-source.js';
import { SNIFF_BYTES, imageMime, sniffKind } from './content-kind.js';
import type { HostFolder } from './host-folder.js';

/** The diff of one classified change. */
export async function readDiff(d: ChangeDetail, host: HostFolder, source: ChangeSource): Promise<FileDiff> {
  const c = d.change;
  const out: FileDiff = { path: c.path, status: c.status, kind: c.type === 'file' ? c.contentKind ?? 'binary' : c.type, hunks: [] };
  if (c.previousSize !== undefined) out.oldSize = c.previousSize;
  if (c.size !== undefined) out.newSize = c.size;
  if (c.previousMode !== undefined) out.oldMode = c.previousMode;
  if (c.mode !== undefined) out.newMode = c.mode;
  if (c.previousLinkTarget !== undefined) out.oldTarget = c.previousLinkTarget;
  if (c.linkTarget !== undefined) out.newTarget = c.linkTarget;
  if (c.type !== 'file') {
    out.note = c.type === 'dir' ? 'a folder' : c.type === 'symlink' ? 'a symbolic link' : 'a FIFO, socket or device';
    return out;
  }
  const oldSide = d.host?.type === 'file' ? await readHost(host, c.path) : { bytes: Buffer.alloc(0), complete: true };
  const newSide = c.status === 'deleted' ? { bytes: Buffer.alloc(0), complete: true, sha256: undefined } : await readStaged(source, c.path);
  if (newSide.sha256) out.stagedSha256 = newSide.sha256;
  if (c.status !== 'deleted' && !c.contentChanged) {
    out.note = 'only the permissions change';
    return out;
  }
  const oldKind = sniffKind(oldSide.bytes.subarray(0, SNIFF_BYTES), oldSide.bytes.length > SNIFF_BYTES || !oldSide.complete);
  const newKind = sniffKind(newSide.bytes.subarray(0, SNIFF_BYTES), newSide.bytes.length > SNIFF_BYTES || !newSide.complete);
  const side = c.status === 'deleted' ? oldSide : newSide;
  const mime = imageMime(side.bytes.subarray(0, 64));
  if (mime) {
    out.kind = 'image';
    out.note = `an image (${mime})`;
    return out;
  }
  if ((d.host?.type === 'file' && oldKind !== 'text') || newKind !== 'text') {
    out.kind = 'binary';
    out.note = 'a binary file';
    return out;
  }
  out.kind = 'text';
  if (!oldSide.complete || !newSide.complete) {
    out.note = `too large to show as a diff (over ${MAX_DIFF_BYTES / 1024 / 1024} MiB)`;
    return out;
  }
  out.hunks = textHunks(oldSide.bytes.toString('utf8'), newSide.bytes.toString('utf8'));
  return out;
}

async function readHost(host: HostFolder, path: string): Promise<{ bytes: Buffer; complete: boolean }> {
  const fh = await host.openFile(path);
  if (!fh) return { bytes: Buffer.alloc(0), complete: true };
  try {
    const buf = Buffer.alloc(Math.min((await fh.stat()).size, MAX_DIFF_BYTES) + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return { bytes: buf.subarray(0, Math.min(n, MAX_DIFF_BYTES)), complete: n <= MAX_DIFF_BYTES };
  } finally {
    await fh.close();
  }
}

/** Reads the staged bytes (kept up to MAX_DIFF_BYTES) and hashes all of them. */
async function readStaged(source: ChangeSource, path: string): Promise<{ bytes: Buffer; complete: boolean; sha256: string }> {
  const stream = await source.open(path);
  const hash = createHash('sha256');
  const kept: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of stream) {
      const b = chunk as Buffer;
      hash.update(b);
      if (n < MAX_DIFF_BYTES) kept.push(b.subarray(0, MAX_DIFF_BYTES - n));
      n += b.length;
    }
  } finally {
    stream.destroy();
  }
  return { bytes: Buffer.concat(kept), complete: n <= MAX_DIFF_BYTES, sha256: hash.digest('hex') };
}
