// The task queue against a real VM: one core, one workspace, one booted guest for the file.
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskOutputChunk, TaskSnapshot } from '../../app/shared/contract-schemas.js';
import type { Vivarium } from '../../app/main/core/vivarium.js';
import { openCore, processesMentioning, scratch } from './core-support.js';

const LOG_CAP = 4 * 1024 * 1024;
const THROTTLE_MS = 100;

let base: { dir: string; cleanup: () => Promise<void> };
let core: Vivarium;
let ws: string;

beforeAll(async () => {
  base = await scratch('tasks');
  const share = join(base.dir, 'share');
  await mkdir(share);
  core = await openCore(join(base.dir, 'data'), { tasks: { concurrency: 4, logCapBytes: LOG_CAP, cancelGraceMs: 2000, throttleMs: THROTTLE_MS } });
  ws = (await core.createWorkspace(share, 'rw', false)).id;
  const vm = await core.startVm(ws);
  expect(vm.state).toBe('running');
  console.log(`core-tasks: VM booted in ${vm.bootMs} ms (${core.accelerator(ws)})`);
});
afterAll(async () => {
  await core?.close();
  expect(await processesMentioning(base.dir)).toEqual([]);
  await base.cleanup();
});

describe('tasks in a real VM', () => {
  it('reports OSC 9;4 progress 0 -> 50 -> 100 % and the last status line', async () => {
    const seen: number[] = [];
    const off = core.subscribe((e) => {
      if (e.event === 'task:changed' && e.payload.progress.percent !== null && seen.at(-1) !== e.payload.progress.percent) seen.push(e.payload.progress.percent);
    });
    const osc = (p: number): string => `printf '\\033]9;4;1;${p}\\007'`;
    const t = await core.startTask(ws, `${osc(0)}; echo starting; sleep 1; ${osc(50)}; echo halfway; sleep 1; ${osc(100)}; echo finished`, null);
    const done = await core.tasks.waitFor(t.id);
    off();
    expect(done).toMatchObject({ state: 'succeeded', exitCode: 0, progress: { kind: 'normal', percent: 100 }, statusLine: 'finished' });
    expect(seen).toEqual([0, 50, 100]);
  });

  it('cancels a running sleep 600 promptly and the VM stays usable', async () => {
    const t = await core.startTask(ws, 'echo sleeping; sleep 600', null);
    await waitState(t.id, 'running');
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    const cancelled = await core.cancelTask(t.id);
    expect(cancelled.state).toBe('cancelled');
    // TERM, then KILL after the 2 s grace: seconds, not the 600 of the sleep. Generous, since
    // TCG on two shared cores can be several times slower under load.
    expect(Date.now() - t0).toBeLessThan(30_000);
    const check = await core.startTask(ws, 'ps -o args | grep -c "^sleep 600" || true', null);
    const after = await core.tasks.waitFor(check.id);
    expect(after.state).toBe('succeeded');
    expect((await core.readTaskOutput(check.id, 0, 1000)).data.trim()).toBe('0');
  });

  it('runs 100 tasks queued with concurrency 4, each ending with its own exit code', async () => {
    let running = 0;
    let maxRunning = 0;
    const off = core.subscribe((e) => {
      if (e.event !== 'task:changed') return;
      running = core.tasks.list(ws).filter((x) => x.state === 'running').length;
      maxRunning = Math.max(maxRunning, running);
    });
    const tasks = await Promise.all(Array.from({ length: 100 }, (_, i) => core.startTask(ws, `echo task ${i}; exit ${i % 5}`, null)));
    const done = await Promise.all(tasks.map((t) => core.tasks.waitFor(t.id)));
    off();
    const wrong = done.filter((t, i) => t.exitCode !== i % 5);
    expect(wrong.map((t) => `${t.command}: ${t.state} ${t.exitCode} ${t.signal} ${t.reason}`)).toEqual([]);
    expect(maxRunning).toBe(4);
    done.forEach((t, i) => {
      expect(t.exitCode).toBe(i % 5);
      expect(t.state).toBe(i % 5 === 0 ? 'succeeded' : 'failed');
    });
    expect((await core.readTaskOutput(tasks[42]!.id, 0, 100)).data).toBe('task 42\n');
  }, 600_000);

  it('caps the log of a task printing 50 MB, keeps memory bounded and throttles the stream', async () => {
    const chunks: TaskOutputChunk[] = [];
    let peakRss = 0;
    const rss0 = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    const t = await core.startTask(ws, 'yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ | head -c 52428800', null);
    const off = core.subscribe((e) => {
      if (e.event === 'task:output' && e.payload.taskId === t.id) chunks.push(e.payload);
    });
    const started = Date.now();
    const done = await core.tasks.waitFor(t.id);
    const seconds = (Date.now() - started) / 1000;
    clearInterval(sampler);
    off();
    const growthMiB = (peakRss - rss0) / 1048576;
    const streamed = chunks.reduce((n, c) => n + Buffer.byteLength(c.data), 0);
    console.log(`core-tasks: 50 MB task took ${seconds.toFixed(1)} s; RSS growth ${growthMiB.toFixed(1)} MiB; ${chunks.length} stream events, ${streamed} bytes streamed`);
    expect(done.state).toBe('succeeded');
    const log = await stat(join(base.dir, 'data', 'tasks', t.id, 'output.log'));
    expect(log.size).toBeGreaterThanOrEqual(LOG_CAP);
    expect(log.size).toBeLessThan(LOG_CAP + 512);
    const tail = await core.readTaskOutput(t.id, LOG_CAP - 10, 1000);
    expect(tail.data).toMatch(/output truncated/);
    expect(growthMiB).toBeLessThan(40);
    expect(chunks.length).toBeLessThanOrEqual(Math.ceil((seconds * 1000) / THROTTLE_MS) + 3);
    expect(streamed).toBeLessThan(LOG_CAP + 512);
  }, 600_000);
});

async function waitState(taskId: string, state: TaskSnapshot['state']): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (core.tasks.get(taskId).state === state) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`task ${taskId} never reached ${state}`);
}
