import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readJournal, writeJournal } from './apply-journal.js';
import { BaselineStore } from './baseline-store.js';
import { DirChangeSource, ScriptedChangeSource, writeTree } from './review-test-kit.js';
import { treeDifferences, treeHash } from './tree-hash.js';
import { WorkspaceReview } from './workspace-review.js';

let dir: string;
let folder: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-review-'));
  folder = join(dir, 'folder');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function edit(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  await utimes(path, 12345, 12345); // a distinct mtime even within one clock tick
}

describe('conflicts and confirmation', () => {
  it('a file edited on the host during the task is refused by apply-all, the rest applies; confirming it by name overwrites it', async () => {
    await writeTree(folder, { 'a.txt': 'a1', 'b.txt': 'b1' });
    const src = new ScriptedChangeSource([]).file('a.txt', 'a-guest').file('b.txt', 'b-guest');
    const r = new WorkspaceReview({ folder, dataDir: join(dir, 'data'), source: src });
    await r.recordTaskStart('t');
    await edit(join(folder, 'a.txt'), 'a-host-edit');
    const res = await r.apply('all');
    expect(res.applied).toEqual(['b.txt']);
    expect(res.skipped).toEqual([{ path: 'a.txt', reason: 'changed on your computer while the task ran' }]);
    expect(await readFile(join(folder, 'a.txt'), 'utf8')).toBe('a-host-edit');
    expect(src.dropped).toEqual([['b.txt']]);
    expect((await r.applyConfirmed('a.txt')).applied).toEqual(['a.txt']);
    expect(await readFile(join(folder, 'a.txt'), 'utf8')).toBe('a-guest');
    await r.undo();
    expect(await readFile(join(folder, 'a.txt'), 'utf8')).toBe('a-host-edit');
  });

  it('the baseline is the earliest snapshot since the path was last applied (several tasks, one upper layer)', async () => {
    await writeTree(folder, { 'x.txt': 'v1' });
    const src = new ScriptedChangeSource([]);
    const r = new WorkspaceReview({ folder, dataDir: join(dir, 'data'), source: src });
    await r.recordTaskStart('task-1');
    await edit(join(folder, 'x.txt'), 'v2 by the user');
    await r.recordTaskStart('task-2'); // sees v2, but task 1 may have staged from v1
    src.file('x.txt', 'guest');
    expect((await r.list()).changes[0]?.conflict).toBeDefined();
    await r.applyConfirmed('x.txt');
    // Applied: the host copy after the apply is the baseline now; the guest stages again.
    src.file('x.txt', 'guest again');
    expect((await r.list()).changes[0]?.conflict).toBeUndefined();
  });

  it('a diff pins the bytes confirmed; a listing version pins the entry', async () => {
    await writeTree(folder, { 'cfg/.envrc': 'export A=1\n' });
    const src = new ScriptedChangeSource([]).entry('cfg', 'dir').file('cfg/.envrc', 'export A=2\n');
    const r = new WorkspaceReview({ folder, dataDir: join(dir, 'data'), source: src });
    await r.recordTaskStart('t');
    const d = await r.diff('cfg/.envrc');
    expect(d.kind).toBe('text');
    expect(d.hunks[0]!.lines.map((l) => `${l.type}:${l.segments.map((s) => (s.highlight ? `[${s.text}]` : s.text)).join('')}`)).toEqual(['del:export A=[1]', 'add:export A=[2]']);
    const { changes } = await r.list();
    const version = changes.find((c) => c.path === 'cfg/.envrc')!.version;
    expect((await r.apply(['cfg/.envrc'])).skipped[0]?.reason).toMatch(/runs code on your computer.*own confirmation/);
    src.contents.set('cfg/.envrc', Buffer.from('export A=3\n')); // the agent swaps the bytes after the review
    expect((await r.applyConfirmed('cfg/.envrc', { sha256: d.stagedSha256! })).skipped[0]?.reason).toMatch(/changed since you reviewed it/);
    expect((await r.applyConfirmed('cfg/.envrc', { version: 'stale' })).skipped[0]?.reason).toMatch(/changed since you reviewed it/);
    expect((await r.applyConfirmed('cfg/.envrc', { version })).applied).toEqual(['cfg/.envrc']);
    expect(await readFile(join(folder, 'cfg/.envrc'), 'utf8')).toBe('export A=3\n');
  });
});

describe('undo', () => {
  it('restores bytes and modes, and leaves paths changed since the apply as they are (a conflict)', async () => {
    await writeTree(folder, { 'a.txt': 'a1', 'b.sh': { data: 'b1', mode: 0o755 }, 'gone.txt': 'g' });
    const original = await treeHash(folder);
    const src = new ScriptedChangeSource([]).file('a.txt', 'a2').file('b.sh', 'b2', 0o644).entry('gone.txt', 'whiteout').file('new.txt', 'n');
    const r = new WorkspaceReview({ folder, dataDir: join(dir, 'data'), source: src });
    await r.recordTaskStart('t');
    expect((await r.apply('all')).applied).toEqual(['a.txt', 'b.sh', 'gone.txt', 'new.txt']);
    await edit(join(folder, 'new.txt'), 'the user kept working');
    const u = await r.undo();
    expect(u.conflicts).toEqual([{ path: 'new.txt', reason: 'changed on your computer since the apply' }]);
    expect(treeDifferences(await treeHash(folder, (p) => p === 'new.txt'), original)).toEqual([]);
    expect(await readFile(join(folder, 'new.txt'), 'utf8')).toBe('the user kept working');
    expect((await stat(join(folder, 'b.sh'))).mode & 0o777).toBe(0o755);
    await expect(r.undo()).rejects.toThrow(/no apply to undo/);
  });

  it('history: pruned by age and size, never the last apply while it is undoable', async () => {
    await writeTree(folder, { 'f.txt': 'x'.repeat(1000) });
    const src = new ScriptedChangeSource([]);
    const r = new WorkspaceReview({ folder, dataDir: join(dir, 'data'), source: src, history: { maxBytes: 1500, maxAgeMs: 60_000 } });
    await r.recordTaskStart('t');
    for (let i = 0; i < 3; i++) {
      src.file('f.txt', String(i).repeat(1000));
      await r.apply('all');
    }
    const h = await r.historySummaries();
    expect(h).toHaveLength(1); // 1000 bytes each: only the newest fits in 1500
    expect((await r.history.prune(Date.now() + 30_000))).toEqual([]);
    expect(await r.history.latestUndoable(Date.now() + 120_000)).toBeNull(); // past the age limit
    expect((await r.history.prune(Date.now() + 120_000))).toEqual([h[0]!.applyId]);
  });
});

describe('discard, drops and the VM', () => {
  it('discarding one deleted path of a deleted tree discards the whole deletion; discard all empties the stage', async () => {
    await writeTree(folder, { 'tree/a.txt': 'a', 'tree/b.txt': 'b', 'keep.txt': 'k' });
    const upper = join(dir, 'upper');
    await writeTree(upper, { 'keep.txt': 'k2', 'added.txt': 'new' });
    const src = new DirChangeSource(upper, ['tree']);
    const r = new WorkspaceReview({ folder, dataDir: join(dir, 'data'), source: src });
    await r.recordTaskStart('t');
    const d = await r.discard(['tree/a.txt']);
    expect(d.discarded).toEqual(['tree', 'tree/a.txt', 'tree/b.txt']);
    expect(src.whiteouts).toEqual([]);
    expect((await r.discard('all')).discarded).toEqual(['added.txt', 'keep.txt']);
    expect((await r.list()).changes).toEqual([]);
    expect(await readFile(join(folder, 'keep.txt'), 'utf8')).toBe('k');
  });

  it('an apply whose drop did not reach the VM drops at the next listing', async () => {
    await writeTree(folder, { 'a.txt': 'a' });
    const src = new ScriptedChangeSource([]).file('a.txt', 'b');
    const r = new WorkspaceReview({ folder, dataDir: join(dir, 'data'), source: src });
    await r.recordTaskStart('t');
    await r.apply('all');
    const j = (await readJournal(join(dir, 'data')))!;
    expect(j).toMatchObject({ state: 'done', drop: ['a.txt'], dropped: true });
    await writeJournal(join(dir, 'data'), { ...j, dropped: false }); // as if the VM had stopped
    src.file('a.txt', 'b');
    src.dropped.length = 0;
    await r.list();
    expect(src.dropped).toEqual([['a.txt']]);
  });

  it('says so when the VM is not running', async () => {
    await writeTree(folder, {});
    const r = new WorkspaceReview({ folder, dataDir: join(dir, 'data') });
    await expect(r.list()).rejects.toThrow(/VM is not running/);
  });

  it('keeps a bounded number of snapshots', async () => {
    await writeTree(folder, { 'a.txt': 'a' });
    const store = new BaselineStore(join(dir, 'b'), 3);
    for (let i = 0; i < 6; i++) await store.record(folder, `t${i}`);
    expect(await store.count()).toBe(3);
    expect(await new BaselineStore(join(dir, 'b'), 3).count()).toBe(3);
  });
});
