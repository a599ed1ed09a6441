// Unit tests of the queue logic with a scripted executor; the real executor (SSH exec in a VM)
// is covered by test/conformance/core-tasks.test.ts.
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskManager } from './task-manager.js';
import { DIED_WHILE_RUNNING, TaskStore } from './task-store.js';
import type { ExitStatus, TaskCommand, TaskExecutor, TaskProcess } from './task-types.js';
import type { TaskSnapshot } from '../../shared/contract-schemas.js';

/** A scripted process: the test decides what it prints and when it exits. */
class FakeProc implements TaskProcess {
  readonly out = new PassThrough();
  readonly err = new PassThrough();
  readonly streams = [this.out, this.err];
  readonly exit: Promise<ExitStatus>;
  calls: string[] = [];
  private resolveExit!: (s: ExitStatus) => void;
  ignoreTerm = false;
  constructor(readonly cmd: TaskCommand) {
    this.exit = new Promise((r) => (this.resolveExit = r));
  }
  end(exitCode: number | null, signal: string | null = null): void {
    this.out.end();
    this.err.end();
    setImmediate(() => this.resolveExit({ exitCode, signal }));
  }
  async terminate(): Promise<void> {
    this.calls.push('TERM');
    if (!this.ignoreTerm) this.end(null, 'TERM');
  }
  async kill(): Promise<void> {
    this.calls.push('KILL');
    this.end(null, 'KILL');
  }
  abandon(): void {
    this.calls.push('abandon');
  }
}

class FakeExecutor implements TaskExecutor {
  procs: FakeProc[] = [];
  running = 0;
  maxRunning = 0;
  autoExit: ((p: FakeProc) => void) | null = null;
  async start(cmd: TaskCommand): Promise<TaskProcess> {
    if (cmd.command === 'boom') throw new Error('the VM failed to boot');
    const p = new FakeProc(cmd);
    this.procs.push(p);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    void p.exit.then(() => this.running--);
    if (this.autoExit) setTimeout(() => this.autoExit!(p), 2);
    return p;
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-tasks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe('TaskManager', () => {
  it('runs 40 tasks with at most 4 at once and keeps each exit code', async () => {
    const ex = new FakeExecutor();
    ex.autoExit = (p) => p.end(Number(p.cmd.command));
    const tm = new TaskManager(new TaskStore(join(dir, 'tasks')), ex, { concurrency: 4 });
    const tasks = await Promise.all(Array.from({ length: 40 }, (_, i) => tm.enqueue('w', String(i % 7))));
    const done = await Promise.all(tasks.map((t) => tm.waitFor(t.id)));
    expect(ex.maxRunning).toBe(4);
    done.forEach((t, i) => {
      expect(t.exitCode).toBe(i % 7);
      expect(t.state).toBe(i % 7 === 0 ? 'succeeded' : 'failed');
    });
  });

  it('logs output, parses progress and status, and persists the record', async () => {
    const ex = new FakeExecutor();
    const tm = new TaskManager(new TaskStore(join(dir, 'tasks')), ex, { throttleMs: 5 });
    const seen: TaskSnapshot[] = [];
    tm.on('changed', (t) => seen.push(t));
    const t = await tm.enqueue('w', 'x');
    await until(() => ex.procs.length === 1);
    const p = ex.procs[0]!;
    p.out.write('\x1b]9;4;1;0\x07starting\n');
    await until(() => seen.some((s) => s.progress.percent === 0));
    p.err.write('half\n\x1b]9;4;1;50\x07');
    await until(() => seen.some((s) => s.progress.percent === 50));
    p.out.write('\x1b]9;4;1;100\x07done\n');
    p.end(0);
    const final = await tm.waitFor(t.id);
    expect(final).toMatchObject({ state: 'succeeded', exitCode: 0, progress: { kind: 'normal', percent: 100 }, statusLine: 'done' });
    const percents = seen.map((s) => s.progress.percent).filter((x, i, a) => x !== null && a[i - 1] !== x);
    expect(percents).toEqual([0, 50, 100]);
    expect((await tm.readOutput(t.id, 0, 1000)).data).toContain('starting\nhalf\n');
    const rec = JSON.parse(await readFile(join(dir, 'tasks', t.id, 'task.json'), 'utf8')) as TaskSnapshot;
    expect(rec.state).toBe('succeeded');
  });

  it('cancels a queued task at once and a running one with TERM, then KILL after the grace period', async () => {
    const ex = new FakeExecutor();
    const tm = new TaskManager(new TaskStore(join(dir, 'tasks')), ex, { concurrency: 1, cancelGraceMs: 50 });
    const a = await tm.enqueue('w', 'a');
    const b = await tm.enqueue('w', 'b');
    expect((await tm.cancel(b.id)).state).toBe('cancelled');
    await until(() => ex.procs.length === 1);
    ex.procs[0]!.ignoreTerm = true;
    const done = await tm.cancel(a.id);
    expect(done).toMatchObject({ state: 'cancelled', signal: 'KILL', reason: 'Cancelled by the user.' });
    expect(ex.procs[0]!.calls).toEqual(['TERM', 'KILL']);
    expect(ex.procs).toHaveLength(1);
  });

  it('marks a task failed with the cause when its command cannot start', async () => {
    const tm = new TaskManager(new TaskStore(join(dir, 'tasks')), new FakeExecutor());
    const t = await tm.enqueue('w', 'boom');
    expect(await tm.waitFor(t.id)).toMatchObject({ state: 'failed', reason: 'the VM failed to boot' });
    await expect(tm.enqueue('w', '  ')).rejects.toThrow(/no command/);
  });

  it('marks tasks left running by a dead process as failed at the next start', async () => {
    const tdir = join(dir, 'tasks', 'old');
    await mkdir(tdir, { recursive: true });
    const old: TaskSnapshot = {
      id: 'old', workspaceId: 'w', command: 'sleep 9', profileId: null, state: 'running', exitCode: null, signal: null, reason: null,
      progress: { kind: 'none', percent: null }, statusLine: null, createdAt: 1, startedAt: 2, endedAt: null,
    };
    await writeFile(join(tdir, 'task.json'), JSON.stringify(old));
    await mkdir(join(dir, 'tasks', 'junk'));
    await writeFile(join(dir, 'tasks', 'junk', 'task.json'), '{');
    const tm = new TaskManager(new TaskStore(join(dir, 'tasks')), new FakeExecutor());
    const problems = await tm.init();
    expect(problems).toEqual([expect.stringMatching(/junk.*unreadable/)]);
    expect(tm.get('old')).toMatchObject({ state: 'failed', reason: DIED_WHILE_RUNNING });
    const onDisk = JSON.parse(await readFile(join(tdir, 'task.json'), 'utf8')) as TaskSnapshot;
    expect(onDisk.state).toBe('failed');
  });

  it('caps the log and throttles the stream when a task floods output', async () => {
    const ex = new FakeExecutor();
    const tm = new TaskManager(new TaskStore(join(dir, 'tasks')), ex, { logCapBytes: 1 << 20, throttleMs: 50, throttleMaxBytes: 4096 });
    let events = 0;
    let streamed = 0;
    tm.on('output', (c) => {
      events++;
      streamed += c.data.length;
    });
    const t = await tm.enqueue('w', 'flood');
    await until(() => ex.procs.length === 1);
    const p = ex.procs[0]!;
    for (let i = 0; i < 80; i++) {
      if (!p.out.write(Buffer.alloc(64 * 1024, 120))) await new Promise((r) => p.out.once('drain', r));
    }
    p.end(0);
    await tm.waitFor(t.id);
    const log = await readFile(join(dir, 'tasks', t.id, 'output.log'), 'utf8');
    expect(log.length).toBeLessThan((1 << 20) + 200);
    expect(log).toMatch(/output truncated/);
    expect(streamed).toBeLessThan(log.length);
    expect(events).toBeLessThan(60);
  });
});
