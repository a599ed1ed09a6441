/**
 * The staged entries as a tree, after validation: which are usable, which are refused and why
 * (duplicates, names that fold together on this host, children of links, whiteouts or missing
 * folders), and the overlay rules that need the whole listing (opaque folders, hard links).
 */
import type { ChangeSource, StagedEntryType } from './change-source.js';
import { foldPath } from './protected-paths.js';
import type { InvalidEntry, RefusalCode } from './review-types.js';
import { checkEntry, MAX_ENTRIES, type HostPlatform, type Refusal, type ValidEntry } from './staged-validation.js';
import { VivError } from '../../shared/errors.js';

/** A staged entry refused before classification. */
export interface RefusedEntry {
  path: string;
  type: StagedEntryType | null;
  refusal: Refusal;
  /** False when the name itself is invalid: it MUST NOT be looked up on the host. */
  nameOk: boolean;
}

/** The validated listing. */
export interface StagedTree {
  valid: Map<string, ValidEntry>;
  refused: Map<string, RefusedEntry>;
  invalid: InvalidEntry[];
  /** Inodes shared by more names than the listing holds (hard links to outside paths). */
  outsideLinks: Set<number>;
}

/** Validates a raw listing. @throws VivError when it is not a list or too long. */
export function buildStagedTree(raw: unknown, platform: HostPlatform, caseInsensitive: boolean): StagedTree {
  if (!Array.isArray(raw)) throw new VivError('invalidState', 'The staged changes could not be read: the listing is not a list');
  if (raw.length > MAX_ENTRIES) throw new VivError('invalidState', `The VM staged more than ${MAX_ENTRIES} entries; review mode cannot show them`);
  const valid = new Map<string, ValidEntry>();
  const refused = new Map<string, RefusedEntry>();
  const invalid: InvalidEntry[] = [];
  const counts = new Map<string, number>();
  raw.forEach((r: unknown, index) => {
    const c = checkEntry(r, platform);
    if (c.ok) {
      counts.set(c.entry.path, (counts.get(c.entry.path) ?? 0) + 1);
      valid.set(c.entry.path, c.entry);
    } else if (c.path === null) {
      invalid.push({ index, reason: c.reason });
    } else {
      counts.set(c.path, (counts.get(c.path) ?? 0) + 1);
      refused.set(c.path, { path: c.path, type: c.type, refusal: c.refusal, nameOk: c.refusal.code !== 'invalidName' && c.refusal.code !== 'notUtf8' });
    }
  });
  const refuse = (path: string, code: RefusalCode, reason: string): void => {
    const type = valid.get(path)?.type ?? refused.get(path)?.type ?? null;
    const nameOk = refused.get(path)?.nameOk ?? true;
    valid.delete(path);
    refused.set(path, { path, type, refusal: { code, reason }, nameOk });
  };
  for (const [path, n] of counts) if (n > 1) refuse(path, 'duplicate', 'the VM listed this path more than once');
  if (caseInsensitive) {
    const byFold = new Map<string, string[]>();
    for (const p of [...valid.keys(), ...refused.keys()]) {
      const f = foldPath(p);
      byFold.set(f, [...(byFold.get(f) ?? []), p]);
    }
    for (const group of byFold.values()) {
      if (group.length < 2) continue;
      for (const p of group) refuse(p, 'duplicate', `differs from ${group.find((q) => q !== p)} only in case or Unicode form, which this computer's file system treats as one name`);
    }
  }
  // A name may share its inode only with names the listing also holds: anything more is a hard
  // link to a file outside the staged changes (outside the folder).
  const byIno = new Map<number, { n: number; nlink: number }>();
  for (const e of valid.values()) {
    if (e.type === 'dir' || e.type === 'whiteout') continue;
    const g = byIno.get(e.ino) ?? { n: 0, nlink: e.nlink };
    g.n++;
    g.nlink = Math.max(g.nlink, e.nlink);
    byIno.set(e.ino, g);
  }
  const outsideLinks = new Set<number>();
  for (const [ino, g] of byIno) if (g.nlink > g.n) outsideLinks.add(ino);
  return { valid, refused, invalid, outsideLinks };
}

/** The parent folder of a relative path ('' for a top-level name). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** Lists the source and validates it. */
export async function readStagedTree(source: ChangeSource, platform: HostPlatform, caseInsensitive: boolean): Promise<StagedTree> {
  let raw: unknown;
  try {
    raw = await source.list();
  } catch (e) {
    if (e instanceof VivError) throw e;
    throw new VivError('internal', `The staged changes could not be read from the VM: ${(e as Error).message}`, e);
  }
  return buildStagedTree(raw, platform, caseInsensitive);
}
