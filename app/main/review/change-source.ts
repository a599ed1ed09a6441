/**
 * Review mode's seam between the guest and the host (issue 15): what a workspace's staged
 * changes look like when read from the guest's overlay upper layer, and the operations the
 * apply engine needs from wherever they are staged. The guest side (the reader over the VM's
 * connection) implements ChangeSource; the host side (listing, diffing, applying, undo) uses
 * only this interface, so it is tested against a scripted source and the real guest alike.
 *
 * Everything a ChangeSource returns comes from the guest and is hostile: paths, names, modes,
 * sizes and link targets MUST be validated by the consumer before they touch the host.
 */
import type { Readable } from 'node:stream';

/** What an entry of the upper layer is. `whiteout` = deleted in the guest (overlay 0/0 char device). */
export type StagedEntryType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block' | 'whiteout';

/**
 * One entry of the upper layer, as the guest reports it. `path` is relative to the workspace
 * root, '/'-separated, as raw bytes decoded as UTF-8 where valid (see `pathBytes`).
 */
export interface StagedEntry {
  /** Relative path inside the workspace ('a/b.txt'); never empty, absolute, '.' or '..' when valid. */
  path: string;
  /** The path's raw bytes when they are not valid UTF-8 (the consumer refuses or escapes such names). */
  pathBytes?: Uint8Array;
  type: StagedEntryType;
  /** Permission bits including setuid (0o4000), setgid (0o2000) and sticky (0o1000): mode & 0o7777. */
  mode: number;
  /** Bytes, for files; 0 otherwise. */
  size: number;
  mtimeMs: number;
  /** Inode number in the guest's upper layer and link count (hard links share `ino`). */
  ino: number;
  nlink: number;
  /** The symlink's target, as stored in the guest. */
  linkTarget?: string;
  /** A directory that replaces the lower directory entirely (overlay's opaque xattr). */
  opaque?: boolean;
}

/** Where a workspace's changes are staged (the VM's overlay upper layer). */
export interface ChangeSource {
  /** Every entry of the upper layer, parents before children. */
  list(): Promise<StagedEntry[]>;
  /** The staged bytes of a file entry. Rejects when `path` is not a staged regular file. */
  open(path: string): Promise<Readable>;
  /**
   * Removes entries from the upper layer (after they were applied to the host folder, or when
   * the user discards them), so the guest sees the host folder's copy again. A directory path
   * removes everything below it too.
   */
  drop(paths: readonly string[]): Promise<void>;
}
