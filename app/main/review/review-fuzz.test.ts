import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVivError } from '../../shared/errors.js';
import { ScriptedChangeSource, writeTree } from './review-test-kit.js';
import { treeHash } from './tree-hash.js';
import { WorkspaceReview } from './workspace-review.js';

// Property test: random hostile listings (seeded, so a failure replays) never make the host side
// write outside the folder, throw anything but a VivError, or leave a temp file behind —
// whatever the user confirms.
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['a', 'b', 'd', 'link', 'home', '.git', 'hooks', 'config', '..', '.', '', 'x\0y', 'A', 'ü', '.vscode', 'f2d', 'C:', 'x\\y'];
const TYPES = ['file', 'file', 'file', 'dir', 'dir', 'symlink', 'whiteout', 'fifo', 'char', 'socket', 'block', 'bogus'];

let scratch: string;
let folder: string;
let outside: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'viv-fuzz-'));
  folder = join(scratch, 'folder');
  outside = join(scratch, 'outside');
  await writeTree(outside, { 'secret.txt': 'keep me\n', 'sub/x': 'x' });
  await writeTree(folder, { 'a': 'a', 'd/in.txt': 'in', 'f2d': 'file', '.git/config': '[core]\n' });
  await symlink('../outside', join(folder, 'home'));
  await mkdir(join(scratch, 'data'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

function randomListing(rand: () => number, outsidePath: string): ScriptedChangeSource {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const src = new ScriptedChangeSource([]);
  const n = 1 + Math.floor(rand() * 24);
  for (let i = 0; i < n; i++) {
    const depth = 1 + Math.floor(rand() * 3);
    const path = rand() < 0.05 ? `/${pick(NAMES)}` : Array.from({ length: depth }, () => pick(NAMES)).join('/');
    const type = pick(TYPES);
    const mode = rand() < 0.2 ? pick([0o4755, 0o2755, 0o1777, 0o17777, -1, 0o000]) : pick([0o644, 0o755, 0o600]);
    const ino = 1 + Math.floor(rand() * 6);
    const nlink = 1 + Math.floor(rand() * 3);
    const linkTarget = type === 'symlink' ? pick(['/etc', outsidePath, '../outside', '..', 'a', 'home/secret.txt', 'd/../..', 'link/..', '.']) : undefined;
    if (type === 'file') {
      const bytes = Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
      const size = rand() < 0.1 ? bytes.length + 3 : bytes.length; // sometimes the listing lies about the size
      src.entries.push({ path, type, mode, size, mtimeMs: 1, ino, nlink });
      src.contents.set(path, bytes);
    } else {
      src.entries.push({ path, type, mode, size: 0, mtimeMs: 1, ino, nlink, ...(linkTarget ? { linkTarget } : {}), ...(rand() < 0.3 ? { opaque: true } : {}) });
    }
  }
  return src;
}

// (Not readdir's `recursive`, which follows the guest's `a -> .` links round and round.)
async function tempFiles(root: string): Promise<string[]> {
  return [...(await treeHash(root)).entries.keys()].filter((p) => p.split('/').some((c) => c.startsWith('.viv-')));
}

describe('random hostile listings', () => {
  it('never write outside the folder, throw only VivErrors and leave no temp files (100 seeds)', async () => {
    const before = await treeHash(outside);
    const unexpected: string[] = [];
    const guard = async (what: string, f: () => Promise<unknown>): Promise<void> => {
      try {
        await f();
      } catch (e) {
        if (!isVivError(e)) unexpected.push(`${what}: ${(e as Error).stack ?? String(e)}`);
      }
    };
    for (let seed = 1; seed <= 100; seed++) {
      const rand = prng(seed);
      const src = randomListing(rand, outside);
      const review = new WorkspaceReview({ folder, dataDir: join(scratch, 'data'), source: src });
      if (seed % 3 === 0) await review.recordTaskStart(`t${seed}`);
      await guard(`seed ${seed} list`, () => review.list());
      await guard(`seed ${seed} apply all`, () => review.apply('all'));
      const paths = await review.list().then((l) => l.changes.map((c) => c.path), () => [] as string[]);
      for (const p of paths) await guard(`seed ${seed} confirm ${JSON.stringify(p)}`, () => review.applyConfirmed(p));
      if (rand() < 0.3) await guard(`seed ${seed} undo`, () => review.undo());
      if (rand() < 0.5) await guard(`seed ${seed} discard`, () => review.discard('all'));
      expect((await treeHash(outside)).digest, `seed ${seed}`).toBe(before.digest);
      expect((await readdir(scratch)).sort(), `seed ${seed}`).toEqual(['data', 'folder', 'outside']);
      expect(await tempFiles(folder), `seed ${seed}`).toEqual([]);
    }
    expect(unexpected).toEqual([]);
  }, 180_000);
});
