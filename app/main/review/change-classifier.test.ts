import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReviewChange } from './review-types.js';
import { ScriptedChangeSource, writeTree, type TreeSpec } from './review-test-kit.js';
import { WorkspaceReview } from './workspace-review.js';

let dir: string;
let folder: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-classify-'));
  folder = join(dir, 'folder');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function classify(host: TreeSpec, src: ScriptedChangeSource, opts: { record?: boolean; caseInsensitive?: boolean } = {}): Promise<Map<string, ReviewChange>> {
  await writeTree(folder, host);
  const review = new WorkspaceReview({ folder, dataDir: join(dir, 'data'), source: src, caseInsensitive: opts.caseInsensitive ?? false });
  if (opts.record !== false) await review.recordTaskStart('t');
  const list = await review.list();
  return new Map(list.changes.map((c) => [c.path, c]));
}

describe('overlay classification', () => {
  it('a whiteout deletes the host path and everything below it; a whiteout of nothing is no change', async () => {
    const src = new ScriptedChangeSource([]).entry('f.txt', 'whiteout').entry('tree', 'whiteout').entry('never', 'whiteout');
    const m = await classify({ 'f.txt': 'x', 'tree/a/b.txt': 'b', 'tree/c.txt': 'c' }, src);
    expect([...m.keys()]).toEqual(['f.txt', 'tree', 'tree/a', 'tree/a/b.txt', 'tree/c.txt']);
    expect([...m.values()].every((c) => c.status === 'deleted')).toBe(true);
    expect(m.get('tree/a/b.txt')?.stagedPath).toBe('tree');
    expect(m.get('tree')?.type).toBe('dir');
  });

  it('an opaque folder deletes the host contents it does not stage again', async () => {
    const src = new ScriptedChangeSource([]).entry('d', 'dir', { opaque: true }).file('d/kept.txt', 'new kept');
    const m = await classify({ 'd/kept.txt': 'old kept', 'd/gone.txt': 'g', 'd/sub/x': 'x' }, src);
    expect([...m.entries()].map(([p, c]) => `${c.status} ${p}`)).toEqual(['deleted d/gone.txt', 'modified d/kept.txt', 'deleted d/sub', 'deleted d/sub/x']);
  });

  it('a file replaced by a folder and a folder replaced by a file', async () => {
    const src = new ScriptedChangeSource([]).entry('f2d', 'dir').file('f2d/in.txt', 'in').file('d2f', 'now a file');
    const m = await classify({ 'f2d': 'file', 'd2f/a.txt': 'a' }, src);
    expect(m.get('f2d')).toMatchObject({ status: 'modified', type: 'dir', previousType: 'file' });
    expect(m.get('f2d/in.txt')?.status).toBe('added');
    expect(m.get('d2f')).toMatchObject({ status: 'modified', type: 'file', previousType: 'dir' });
    expect(m.get('d2f/a.txt')).toMatchObject({ status: 'deleted', stagedPath: 'd2f' });
  });

  it('a byte-identical copy-up is no change; a mode-only change is one', async () => {
    const src = new ScriptedChangeSource([]).file('same.txt', 'same\n', 0o644).file('mode.txt', 'same\n', 0o600).entry('dir', 'dir', { mode: 0o755 });
    const m = await classify({ 'same.txt': 'same\n', 'mode.txt': 'same\n', 'dir/x': 'x' }, src);
    expect([...m.keys()]).toEqual(['mode.txt']);
    expect(m.get('mode.txt')).toMatchObject({ status: 'modified', contentChanged: false, modeChanged: true, previousMode: 0o644, mode: 0o600 });
  });

  it('symlinks: added, unchanged, retargeted', async () => {
    const src = new ScriptedChangeSource([]).entry('new', 'symlink', { linkTarget: 'a.txt' }).entry('same', 'symlink', { linkTarget: 'a.txt' }).entry('moved', 'symlink', { linkTarget: 'b.txt' });
    const m = await classify({ 'a.txt': 'a', 'same': { link: 'a.txt' }, 'moved': { link: 'a.txt' } }, src);
    expect(m.get('new')).toMatchObject({ status: 'added', type: 'symlink', linkTarget: 'a.txt' });
    expect(m.has('same')).toBe(false);
    expect(m.get('moved')).toMatchObject({ status: 'modified', previousLinkTarget: 'a.txt', linkTarget: 'b.txt' });
  });

  it('sniffs text, binary and image content from a prefix', async () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100)]);
    const src = new ScriptedChangeSource([]).file('t.txt', 'héllo\n'.repeat(5000)).file('b.bin', Buffer.from([1, 0, 2])).file('i.png', png);
    const m = await classify({}, src);
    expect([m.get('t.txt')?.contentKind, m.get('b.bin')?.contentKind, m.get('i.png')?.contentKind]).toEqual(['text', 'binary', 'image']);
  });
});

describe('never applied', () => {
  it('special files, setuid-only changes and hard links to outside paths are refused with a reason', async () => {
    const src = new ScriptedChangeSource([])
      .entry('fifo', 'fifo').entry('sock', 'socket').entry('dev', 'char').entry('blk', 'block')
      .file('suid-only', 'same', 0o4644).file('suid-new', 'x', 0o4755)
      .file('linked', 'x', 0o644, { ino: 77, nlink: 2 })
      .file('pair1', 'p', 0o644, { ino: 88, nlink: 2 }).file('pair2', 'p', 0o644, { ino: 88, nlink: 2 });
    const m = await classify({ 'suid-only': 'same' }, src);
    for (const p of ['fifo', 'sock', 'dev', 'blk']) expect(m.get(p)?.refused?.code).toBe('specialFile');
    expect(m.get('suid-only')?.refused?.code).toBe('setuid');
    expect(m.get('suid-new')?.refused).toBeUndefined();
    expect(m.get('suid-new')?.mode).toBe(0o755);
    expect(m.get('suid-new')?.notices.join()).toMatch(/setuid/);
    expect(m.get('linked')?.refused?.code).toBe('hardLinkOutside');
    expect(m.get('pair1')?.refused).toBeUndefined();
  });

  it('symlinks that leave the folder, lexically or back up through another link', async () => {
    const src = new ScriptedChangeSource([])
      .entry('abs', 'symlink', { linkTarget: '/etc/passwd' })
      .entry('up', 'symlink', { linkTarget: '../outside' })
      .entry('sub/deep', 'symlink', { linkTarget: '../../x' })
      .entry('sub/ok', 'symlink', { linkTarget: '../a.txt' })
      .entry('dot', 'symlink', { linkTarget: '.' })
      .entry('via', 'symlink', { linkTarget: 'dot/..' })
      .entry('hostvia', 'symlink', { linkTarget: 'hostlink/../..' });
    const m = await classify({ 'a.txt': 'a', 'sub/x': 'x', 'hostlink': { link: 'sub' } }, src);
    for (const p of ['abs', 'up', 'sub/deep', 'via', 'hostvia']) expect(m.get(p)?.refused?.code, p).toBe('symlinkEscapes');
    expect(m.get('sub/ok')?.refused).toBeUndefined();
    expect(m.get('dot')?.refused).toBeUndefined();
  });

  it('paths inside a staged link, a host link, a whiteout or a missing folder are refused', async () => {
    const src = new ScriptedChangeSource([])
      .entry('a', 'symlink', { linkTarget: '/home/user' }).file('a/.bashrc', 'evil')
      .file('hostlink/x', 'x')
      .entry('w', 'whiteout').file('w/y', 'y')
      .file('nowhere/z', 'z');
    const m = await classify({ 'real/r': 'r', 'hostlink': { link: 'real' }, 'w/old': 'o' }, src);
    expect(m.get('a/.bashrc')?.refused?.code).toBe('insideSymlink');
    expect(m.get('hostlink/x')?.refused?.code).toBe('insideSymlink');
    expect(m.get('w/y')?.refused?.code).toBe('parentMissing');
    expect(m.get('nowhere/z')?.refused?.code).toBe('parentMissing');
  });

  it('invalid names and values: refused by name, or listed as invalid when they cannot be named', async () => {
    const base = { type: 'file', mode: 0o644, size: 0, mtimeMs: 1, ino: 1, nlink: 1 };
    const src = new ScriptedChangeSource([
      { ...base, path: '../x' }, { ...base, path: '/abs' }, { ...base, path: 'a//b' }, { ...base, path: 'a/./b' },
      { ...base, path: 'nul\0x' }, { ...base, path: 'bad', pathBytes: new Uint8Array([0xff]) }, { ...base, path: 'new\nline' },
      { ...base, path: 'mode', mode: 0o17777 }, { ...base, path: 'size', size: -1 }, { ...base, path: 'type', type: 'weird' },
      { ...base, path: 'dup' }, { ...base, path: 'dup' },
      { ...base, path: 42 }, null,
    ]);
    const list = await new WorkspaceReview({ folder: (await writeTree(folder, {}), folder), dataDir: join(dir, 'd'), source: src }).list();
    const byPath = new Map(list.changes.map((c) => [c.path, c.refused?.code]));
    expect(Object.fromEntries(byPath)).toEqual({
      '../x': 'invalidName', '/abs': 'invalidName', 'a//b': 'invalidName', 'a/./b': 'invalidName', 'nul\0x': 'invalidName',
      'bad': 'notUtf8', 'new\nline': 'invalidName', 'mode': 'invalidEntry', 'size': 'invalidEntry', 'type': 'invalidEntry', 'dup': 'duplicate',
    });
    expect(list.invalid.map((i) => i.index)).toEqual([12, 13]);
    expect(list.summary.refused).toBe(13);
  });

  it('names that fold together on a case-insensitive host are refused', async () => {
    const src = new ScriptedChangeSource([]).file('README', 'a').file('readme', 'b').file('Caf\u00e9', 'c').file('Cafe\u0301', 'd');
    const m = await classify({}, src, { caseInsensitive: true });
    expect([...m.values()].map((c) => c.refused?.code)).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate']);
  });
});

describe('protected paths and executables', () => {
  it('flags changes that run code on the host, at any depth and in any case; deletions are not protected', async () => {
    const src = new ScriptedChangeSource([]).dirs('.git', 'vendor', 'vendor/lib', 'vendor/lib/.git', 'vendor/lib/.git/hooks', '.GIT', '.GIT/Info', '.vscode', 'sub')
      .file('.git/config', '[core]\n\tfsmonitor = evil\n').file('vendor/lib/.git/hooks/pre-commit', 'evil').file('.GIT/Info/attributes', '* filter=x')
      .file('.vscode/tasks.json', '{}').file('my.code-workspace', '{}').file('.envrc', 'evil').file('.gitattributes', '* filter=x')
      .file('sub/.git', 'gitdir: ../evil').file('src/ok.ts', 'fine').file('run.sh', '#!/bin/sh', 0o755).file('was-exec.sh', 'new', 0o755)
      .entry('.idea/old.xml', 'whiteout');
    const m = await classify({ '.git/HEAD': 'ref', '.idea/old.xml': 'x', 'was-exec.sh': { data: 'old', mode: 0o755 } }, src);
    for (const p of ['.git/config', 'vendor/lib/.git/hooks/pre-commit', '.GIT/Info/attributes', '.vscode/tasks.json', 'my.code-workspace', '.envrc', '.gitattributes', 'sub/.git']) {
      expect(m.get(p)?.protected?.code, p).toBe('protectedPath');
      expect(m.get(p)?.protected?.reason).toMatch(/^runs code on your computer/);
    }
    expect(m.get('run.sh')?.protected?.code).toBe('executable');
    expect(m.get('was-exec.sh')?.protected).toBeUndefined();
    expect(m.get('src/ok.ts')?.protected).toBeUndefined();
    expect(m.get('.idea/old.xml')).toMatchObject({ status: 'deleted' });
    expect(m.get('.idea/old.xml')?.protected).toBeUndefined();
  });
});

describe('conflicts', () => {
  it('a host copy changed, created or deleted since the task started is a conflict; an untouched one is not', async () => {
    await writeTree(folder, { 'edited.txt': 'v1', 'calm.txt': 'v1', 'removed.txt': 'r' });
    const src = new ScriptedChangeSource([]).file('edited.txt', 'guest').file('calm.txt', 'guest').file('both-made.txt', 'guest').file('removed.txt', 'guest');
    const review = new WorkspaceReview({ folder, dataDir: join(dir, 'data'), source: src });
    await review.recordTaskStart('t');
    await writeFile(join(folder, 'edited.txt'), 'v2');
    await utimes(join(folder, 'edited.txt'), 1, 1);
    await writeFile(join(folder, 'both-made.txt'), 'host');
    await rm(join(folder, 'removed.txt'));
    const m = new Map((await review.list()).changes.map((c) => [c.path, c]));
    expect(m.get('edited.txt')?.conflict?.reason).toMatch(/changed on your computer/);
    expect(m.get('both-made.txt')?.conflict?.reason).toMatch(/created on your computer/);
    expect(m.get('removed.txt')?.status).toBe('added');
    expect(m.get('removed.txt')?.conflict?.reason).toMatch(/deleted on your computer/);
    expect(m.get('calm.txt')?.conflict).toBeUndefined();
  });

  it('without any record of the folder, a path that exists on the host is a conflict', async () => {
    const src = new ScriptedChangeSource([]).file('x.txt', 'guest').file('y.txt', 'guest');
    const m = await classify({ 'x.txt': 'host' }, src, { record: false });
    expect(m.get('x.txt')?.conflict?.reason).toMatch(/no record/);
    expect(m.get('y.txt')?.conflict).toBeUndefined();
  });

  it('a conflict below a deleted folder makes the folder a conflict; a refused folder refuses what goes in it', async () => {
    await writeTree(folder, { 'tree/a.txt': 'a' });
    const src = new ScriptedChangeSource([]).entry('tree', 'whiteout').entry('bad', 'dir', { mode: 0o17777 }).file('bad/in.txt', 'x');
    const review = new WorkspaceReview({ folder, dataDir: join(dir, 'data'), source: src });
    await review.recordTaskStart('t');
    await writeFile(join(folder, 'tree/late.txt'), 'made during the task');
    const m = new Map((await review.list()).changes.map((c) => [c.path, c]));
    expect(m.get('tree/late.txt')?.conflict).toBeDefined();
    expect(m.get('tree')?.conflict?.reason).toMatch(/tree\/late.txt/);
    expect(m.get('bad/in.txt')?.refused?.code).toBe('dependency');
  });
});
