/**
 * Validation of what the guest reports about its staged changes (every value is hostile):
 * path syntax, names this host cannot hold, and values out of range. An entry that fails is
 * refused with a reason the user can read; one that cannot even be named is listed as invalid.
 */
import type { StagedEntry, StagedEntryType } from './change-source.js';
import type { RefusalCode } from './review-types.js';

/** Longest path and name the host is asked to hold (Linux PATH_MAX / NAME_MAX, in UTF-8 bytes). */
export const MAX_PATH_BYTES = 4096;
export const MAX_NAME_BYTES = 255;
/** Most staged entries one listing may hold: beyond it the listing is refused as a whole. */
export const MAX_ENTRIES = 2_000_000;

const ENTRY_TYPES: ReadonlySet<string> = new Set<StagedEntryType>(['file', 'dir', 'symlink', 'fifo', 'socket', 'char', 'block', 'whiteout']);
// Names Windows maps onto devices, with or without an extension.
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
const WINDOWS_BAD_CHARS = /[<>:"|?*]/;

/** A refusal found while validating. */
export interface Refusal {
  code: RefusalCode;
  reason: string;
}

/** Which extra name rules apply: Windows refuses more names than POSIX systems. */
export type HostPlatform = NodeJS.Platform;

/** A validated staged entry: the fields the classifier relies on, all in range. */
export interface ValidEntry {
  path: string;
  type: StagedEntryType;
  mode: number;
  size: number;
  mtimeMs: number;
  ino: number;
  nlink: number;
  linkTarget?: string;
  opaque: boolean;
}

/** The outcome for one raw entry: usable, refused under a name, or not nameable at all. */
export type EntryCheck =
  | { ok: true; entry: ValidEntry }
  | { ok: false; path: string; type: StagedEntryType | null; refusal: Refusal }
  | { ok: false; path: null; reason: string };

/** Checks one relative path's syntax; null when valid. */
export function checkRelativePath(path: string, platform: HostPlatform = process.platform): Refusal | null {
  if (path.length === 0) return bad('the name is empty');
  if (path.includes('\0')) return bad('the name contains a NUL byte');
  if (!isWellFormedText(path)) return { code: 'notUtf8', reason: 'the name is not valid Unicode' };
  if (path.startsWith('/')) return bad('the path is absolute');
  if (path.includes('\\')) return bad('the name contains a backslash, which Windows reads as a folder separator');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return bad(`the path is longer than ${MAX_PATH_BYTES} bytes`);
  if (/[\x00-\x1f\x7f]/.test(path)) return bad('the name contains control characters (such as a newline)');
  for (const part of path.split('/')) {
    if (part === '') return bad('the path has an empty component');
    if (part === '.' || part === '..') return bad(`the path has a "${part}" component`);
    if (Buffer.byteLength(part) > MAX_NAME_BYTES) return bad(`a name is longer than ${MAX_NAME_BYTES} bytes`);
    if (platform === 'win32') {
      if (WINDOWS_RESERVED.test(part)) return bad(`"${part}" is a device name on Windows`);
      if (WINDOWS_BAD_CHARS.test(part)) return bad(`"${part}" contains a character Windows does not allow in names`);
      if (/[. ]$/.test(part)) return bad(`"${part}" ends with a dot or space, which Windows drops`);
      if (/~[0-9]/.test(part)) return bad(`"${part}" looks like a Windows short (8.3) name, which can stand for another file`);
    }
  }
  return null;
}

/** Validates one raw entry from a ChangeSource listing. */
export function checkEntry(raw: unknown, platform: HostPlatform = process.platform): EntryCheck {
  if (typeof raw !== 'object' || raw === null) return { ok: false, path: null, reason: 'the entry is not an object' };
  const e = raw as Partial<Record<keyof StagedEntry, unknown>>;
  if (typeof e.path !== 'string') return { ok: false, path: null, reason: 'the entry has no path' };
  const path = e.path;
  const type = typeof e.type === 'string' && ENTRY_TYPES.has(e.type) ? (e.type as StagedEntryType) : null;
  const refuse = (code: RefusalCode, reason: string): EntryCheck => ({ ok: false, path, type, refusal: { code, reason } });
  if (e.pathBytes !== undefined) return refuse('notUtf8', 'the name is not valid UTF-8, so it cannot be shown or written faithfully');
  const syntax = checkRelativePath(path, platform);
  if (syntax) return { ok: false, path, type, refusal: syntax };
  if (type === null) return refuse('invalidEntry', `unknown entry type ${JSON.stringify(e.type)}`);
  if (!isInt(e.mode, 0, 0o7777)) return refuse('invalidEntry', 'the permission bits are out of range');
  if (!isInt(e.size, 0, Number.MAX_SAFE_INTEGER) || (type !== 'file' && e.size !== 0)) return refuse('invalidEntry', 'the size is out of range');
  if (!isInt(e.ino, 0, Number.MAX_SAFE_INTEGER)) return refuse('invalidEntry', 'the inode number is out of range');
  if (!isInt(e.nlink, 1, 0xffffffff)) return refuse('invalidEntry', 'the link count is out of range');
  if (typeof e.mtimeMs !== 'number' || !Number.isFinite(e.mtimeMs)) return refuse('invalidEntry', 'the modification time is not a number');
  if (e.opaque !== undefined && typeof e.opaque !== 'boolean') return refuse('invalidEntry', 'the opaque flag is not a boolean');
  let linkTarget: string | undefined;
  if (type === 'symlink') {
    const t = e.linkTarget;
    if (typeof t !== 'string' || t.length === 0) return refuse('invalidEntry', 'the symbolic link has no target');
    if (t.includes('\0') || !isWellFormedText(t)) return refuse('invalidEntry', 'the link target is not valid text');
    if (Buffer.byteLength(t) > MAX_PATH_BYTES) return refuse('invalidEntry', `the link target is longer than ${MAX_PATH_BYTES} bytes`);
    linkTarget = t;
  } else if (e.linkTarget !== undefined) {
    return refuse('invalidEntry', 'only a symbolic link has a target');
  }
  const entry: ValidEntry = { path, type, mode: e.mode as number, size: e.size as number, mtimeMs: e.mtimeMs, ino: e.ino as number, nlink: e.nlink as number, opaque: e.opaque === true && type === 'dir' };
  if (linkTarget !== undefined) entry.linkTarget = linkTarget;
  return { ok: true, entry };
}

/** False for a string holding a lone UTF-16 surrogate (which no file system name can encode). */
export function isWellFormedText(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function bad(reason: string): Refusal {
  return { code: 'invalidName', reason };
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}
