import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirChangeSource, materializeGuestView, writeTree } from './review-test-kit.js';
import { treeDifferences, treeHash } from './tree-hash.js';
import { WorkspaceReview } from './workspace-review.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-apply-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('apply and undo on real folders', () => {
  it('leaves the folder alone until apply, equals the guest view after, the original after undo', async () => {
    const host = join(dir, 'host');
    const upper = join(dir, 'upper');
    await writeTree(host, {
      'README.md': 'hello\nworld\n',
      'src/a.ts': 'export const a = 1;\n',
      'src/old.ts': 'old\n',
      'gone/x.txt': 'x', 'gone/deeper/y.txt': 'y',
      'f2d': 'was a file',
      'd2f/inner.txt': 'inner',
      'script.sh': { data: '#!/bin/sh\n', mode: 0o755 },
    });
    await writeTree(upper, {
      'README.md': 'hello\nthere world\n',
      'src': { dir: true },
      'src/a.ts': 'export const a = 2;\n',
      'src/new.ts': 'new\n',
      'f2d': { dir: true },
      'f2d/child.txt': 'child',
      'd2f': 'now a file',
      'link': { link: 'src/a.ts' },
      'script.sh': { data: '#!/bin/sh\n', mode: 0o700 },
    });
    const source = new DirChangeSource(upper, ['gone', 'src/old.ts']);
    const data = join(dir, 'data');
    const review = new WorkspaceReview({ folder: host, dataDir: data, source });
    await review.recordTaskStart('t1');
    const original = await treeHash(host);
    const guest = join(dir, 'guest');
    await materializeGuestView(host, source, guest);
    const guestHash = await treeHash(guest);

    const list = await review.list();
    expect(list.changes.map((c) => `${c.status} ${c.path}`)).toEqual([
      'modified README.md', 'modified d2f', 'deleted d2f/inner.txt', 'modified f2d', 'added f2d/child.txt',
      'deleted gone', 'deleted gone/deeper', 'deleted gone/deeper/y.txt', 'deleted gone/x.txt',
      'added link', 'modified script.sh', 'modified src/a.ts', 'added src/new.ts', 'deleted src/old.ts',
    ]);
    expect((await treeHash(host)).digest).toBe(original.digest);

    const r = await review.apply('all');
    expect(r.skipped).toEqual([]);
    const after = await treeHash(host);
    expect(treeDifferences(after, guestHash)).toEqual([]);
    expect(source.dropped.flat().length).toBeGreaterThan(0);
    expect((await review.list()).changes).toEqual([]);

    const u = await review.undo();
    expect(u.conflicts).toEqual([]);
    expect(treeDifferences(await treeHash(host), original)).toEqual([]);
  });
});
