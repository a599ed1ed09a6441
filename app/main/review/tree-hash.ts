/**
 * A folder's content identity for review-mode checks: every path with its type, permission
 * bits, bytes (sha256) and link target, never following a link. Two folders with the same
 * hash hold the same tree; `entries` names the paths for a readable test failure.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** A tree's hash and its per-path records (`type mode content`). */
export interface TreeHash {
  digest: string;
  entries: Map<string, string>;
}

/** Hashes `root` recursively; paths for which `skip` returns true (and everything below) are left out. */
export async function treeHash(root: string, skip: (rel: string) => boolean = () => false): Promise<TreeHash> {
  const entries = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(rel ? join(root, rel) : root)).sort();
    for (const name of names) {
      const p = rel ? `${rel}/${name}` : name;
      if (skip(p)) continue;
      const st = await lstat(join(root, p));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) entries.set(p, `link - ${await readlink(join(root, p))}`);
      else if (st.isDirectory()) {
        entries.set(p, `dir ${mode}`);
        await walk(p);
      } else if (st.isFile()) entries.set(p, `file ${mode} ${await fileSha256(join(root, p))}`);
      else entries.set(p, `special ${mode}`);
    }
  };
  await walk('');
  const h = createHash('sha256');
  for (const [p, v] of entries) h.update(`${p}\0${v}\n`);
  return { digest: h.digest('hex'), entries };
}

/** sha256 of a file's bytes. */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** The paths where two tree hashes differ (for test messages). */
export function treeDifferences(a: TreeHash, b: TreeHash, max = 20): string[] {
  const out: string[] = [];
  for (const p of new Set([...a.entries.keys(), ...b.entries.keys()])) {
    if (a.entries.get(p) !== b.entries.get(p)) out.push(`${p}: ${a.entries.get(p) ?? 'absent'} ≠ ${b.entries.get(p) ?? 'absent'}`);
    if (out.length >= max) break;
  }
  return out;
}
