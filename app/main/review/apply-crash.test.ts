import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal } from './apply-journal.js';
import { DirChangeSource, materializeGuestView, writeTree, type TreeSpec } from './review-test-kit.js';
import { treeDifferences, treeHash, type TreeHash } from './tree-hash.js';
import { WorkspaceReview } from './workspace-review.js';

// Crash safety for real: an apply runs in a child process that SIGKILLs itself at a chosen
// step; the next start's recovery must leave the folder fully applied or fully as before, and
// the journal must say which.
const here = dirname(fileURLToPath(import.meta.url));
let scratch: string;

function hostSpec(): TreeSpec {
  const spec: TreeSpec = { 'keep.txt': 'unchanged\n', 'f2d': 'a file that becomes a folder', 'd2f/inner.txt': 'inner', 'mode.sh': { data: '#!/bin/sh\n', mode: 0o755 } };
  for (let i = 0; i < 20; i++) spec[`mod/m${i}.txt`] = `original ${i}\n`;
  for (let i = 0; i < 12; i++) spec[`gone/sub${i % 4}/g${i}.txt`] = `to be deleted ${i}\n`;
  return spec;
}

function upperSpec(): TreeSpec {
  const spec: TreeSpec = { 'f2d': { dir: true }, 'f2d/child.txt': 'child', 'd2f': 'now a file', 'mode.sh': { data: '#!/bin/sh\n', mode: 0o700 }, 'ln': { link: 'keep.txt' } };
  for (let i = 0; i < 20; i++) spec[`mod/m${i}.txt`] = `changed ${i}\n`;
  for (let i = 0; i < 20; i++) spec[`new/deep/n${i}.txt`] = `new ${i}\n`;
  return spec;
}

async function runChild(arg: object): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'apply-crash-child.ts'), JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out, err })));
}

interface Case {
  folder: string;
  dataDir: string;
  upper: string;
  whiteouts: string[];
  original: TreeHash;
  guest: TreeHash;
}

async function makeCase(name: string): Promise<Case> {
  const base = join(scratch, name);
  const folder = join(base, 'folder');
  const upper = join(base, 'upper');
  await writeTree(folder, hostSpec());
  await writeTree(upper, upperSpec());
  const whiteouts = ['gone'];
  const guestDir = join(base, 'guest');
  await materializeGuestView(folder, new DirChangeSource(upper, whiteouts), guestDir);
  const c: Case = { folder, dataDir: join(base, 'data'), upper, whiteouts, original: await treeHash(folder), guest: await treeHash(guestDir) };
  await new WorkspaceReview({ folder, dataDir: c.dataDir }).recordTaskStart('task-1');
  return c;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'viv-crash-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('kill -9 during an apply', () => {
  // 43 temp files are prepared; the commit runs 20 removals, 3 new folders, 43 renames and 4
  // modes (70 steps): the points fall in each phase and at both ends.
  const points: [phase: 'prepare' | 'commit' | 'done', at: number][] = [
    ['prepare', 1], ['prepare', 30], ['commit', 1], ['commit', 15], ['commit', 22], ['commit', 45], ['commit', 69], ['done', 0],
  ];
  it.each(points)('killed at %s step %i: recovery leaves the folder fully applied or fully as before', async (phase, at) => {
    const c = await makeCase(`${phase}-${at}`);
    const res = await runChild({ folder: c.folder, dataDir: c.dataDir, upper: c.upper, whiteouts: c.whiteouts, phase, at });
    expect(res.signal, res.err).toBe('SIGKILL');

    const review = new WorkspaceReview({ folder: c.folder, dataDir: c.dataDir });
    const j = await review.recover();
    const now = await treeHash(c.folder);
    if (phase === 'done') {
      expect(j?.state).toBe('done');
      expect(treeDifferences(now, c.guest)).toEqual([]);
      // The VM still holds the applied entries (the crash came before the drop): the next use drops them.
      const source = new DirChangeSource(c.upper, c.whiteouts);
      review.setSource(source);
      expect((await review.list()).changes).toEqual([]);
      expect(source.dropped.length).toBe(1);
      expect((await readJournal(c.dataDir))?.dropped).toBe(true);
    } else {
      expect(j?.state).toBe('rolledBack');
      expect(j?.leftovers).toEqual([]);
      expect(treeDifferences(now, c.original)).toEqual([]);
      // The changes are still staged and apply cleanly after the rollback.
      review.setSource(new DirChangeSource(c.upper, c.whiteouts));
      const again = await review.apply('all');
      expect(again.skipped).toEqual([]);
      expect(treeDifferences(await treeHash(c.folder), c.guest)).toEqual([]);
      expect((await readJournal(c.dataDir))?.state).toBe('done');
    }
    // No temp file is left anywhere in the folder.
    expect([...now.entries.keys()].filter((n) => n.includes('.viv-'))).toEqual([]);
  }, 60_000);

  it('a run that is not killed applies everything (the kill points above fall inside the apply)', async () => {
    const c = await makeCase('none');
    const res = await runChild({ folder: c.folder, dataDir: c.dataDir, upper: c.upper, whiteouts: c.whiteouts, phase: 'none', at: 0 });
    expect(res.code, res.err).toBe(0);
    expect(JSON.parse(res.out).skipped).toEqual([]);
    expect(treeDifferences(await treeHash(c.folder), c.guest)).toEqual([]);
    expect((await readJournal(c.dataDir))?.ops.length).toBe(70);
  }, 60_000);
});
