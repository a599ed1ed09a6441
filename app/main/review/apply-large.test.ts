import { open, mkdtemp, rm, writeFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirChangeSource, materializeGuestView, writeTree } from './review-test-kit.js';
import { treeDifferences, treeHash } from './tree-hash.js';
import { WorkspaceReview } from './workspace-review.js';

// The apply cases on real folders, with a tree hash over paths, bytes, modes and link
// targets: unchanged until apply, the guest's view after it, the original after undo.
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-large-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function roundTrip(folder: string, source: DirChangeSource): Promise<{ applied: number }> {
  const review = new WorkspaceReview({ folder, dataDir: join(dir, 'data'), source });
  await review.recordTaskStart('t');
  const original = await treeHash(folder);
  await materializeGuestView(folder, source, join(dir, 'guest'));
  const guest = await treeHash(join(dir, 'guest'));
  await rm(join(dir, 'guest'), { recursive: true });
  await review.list();
  expect((await treeHash(folder)).digest).toBe(original.digest);
  const r = await review.apply('all');
  expect(r.skipped).toEqual([]);
  expect(treeDifferences(await treeHash(folder), guest)).toEqual([]);
  const u = await review.undo();
  expect(u.conflicts).toEqual([]);
  expect(treeDifferences(await treeHash(folder), original)).toEqual([]);
  return { applied: r.applied.length };
}

describe('large applies', () => {
  it('a 200 MB file modified in the middle', async () => {
    const folder = join(dir, 'folder');
    const upper = join(dir, 'upper');
    await writeTree(folder, { 'big.bin': '' });
    await writeTree(upper, { 'big.bin': '' });
    await truncate(join(folder, 'big.bin'), 200 * 1024 * 1024); // sparse: fast to make
    await truncate(join(upper, 'big.bin'), 200 * 1024 * 1024);
    const fh = await open(join(upper, 'big.bin'), 'r+');
    await fh.write(Buffer.from('changed by the agent'), 0, 20, 100 * 1024 * 1024);
    await fh.close();
    expect(await roundTrip(folder, new DirChangeSource(upper))).toEqual({ applied: 1 });
  }, 300_000);

  it('20,000 small files added, a deleted tree, a file replaced by a folder and the reverse', async () => {
    const folder = join(dir, 'folder');
    const upper = join(dir, 'upper');
    await writeTree(folder, { 'old/a/x.txt': 'x', 'old/b/y.txt': 'y', 'f2d': 'file', 'd2f/in.txt': 'in' });
    await writeTree(upper, { 'f2d/child.txt': 'c', 'd2f': 'now a file' });
    for (let d = 0; d < 100; d++) {
      await writeTree(join(upper, `gen/d${d}`), {});
      await Promise.all(Array.from({ length: 200 }, (_, f) => writeFile(join(upper, `gen/d${d}/f${f}.txt`), `file ${d}/${f}\n`)));
    }
    const r = await roundTrip(folder, new DirChangeSource(upper, ['old']));
    expect(r.applied).toBe(20_000 + 100 + 1 + 2 + 2 + 5); // files, their folders, gen, f2d (2), d2f (2), the old tree (5)
  }, 600_000);
});
