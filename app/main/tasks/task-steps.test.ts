// Agent steps: the step log's bounds, and the queue reading Claude Code's stream-json into steps,
// progress and status (a scripted process stands in for the guest; the real path is
// test/conformance/agents-core.test.ts).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskSnapshot } from '../../shared/contract-schemas.js';
import { ClaudeStepsReader } from './output-readers.js';
import { TaskManager } from './task-manager.js';
import { StepLog, readSteps, type TaskStepRecord } from './task-steps.js';
import { TaskStore } from './task-store.js';
import type { ExitStatus, TaskExecutor, TaskProcess } from './task-types.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-steps-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One scripted process per start; `status` lines the executor reported are kept. */
function scriptedExecutor(): { executor: TaskExecutor; out: PassThrough; err: PassThrough; end: (code: number) => void; started: Promise<void>; statuses: string[] } {
  const out = new PassThrough();
  const err = new PassThrough();
  let resolveExit!: (s: ExitStatus) => void;
  let started!: () => void;
  const statuses: string[] = [];
  const exit = new Promise<ExitStatus>((r) => (resolveExit = r));
  const proc: TaskProcess = { streams: [out, err], exit, terminate: async () => undefined, kill: async () => undefined, abandon: () => undefined };
  return {
    executor: {
      async start(_cmd, status) {
        status('Waiting for the VM');
        statuses.push('Waiting for the VM');
        started();
        return proc;
      },
    },
    out,
    err,
    statuses,
    started: new Promise((r) => (started = r)),
    end: (code) => {
      out.end();
      err.end();
      setImmediate(() => resolveExit({ exitCode: code, signal: null }));
    },
  };
}

const line = (v: unknown): string => `${JSON.stringify(v)}\n`;

describe('agent steps', () => {
  it('reads stream-json into ordered, persisted steps with events, progress and a status line', async () => {
    const x = scriptedExecutor();
    const tm = new TaskManager(new TaskStore(join(dir, 'tasks')), x.executor, {
      throttleMs: 5,
      readerFor: (t, onStep) => (t.profileId === 'claude-code' ? new ClaudeStepsReader(onStep) : null),
    });
    const events: TaskStepRecord[] = [];
    const changes: TaskSnapshot[] = [];
    tm.on('step', (r) => events.push(r));
    tm.on('changed', (t) => changes.push(t));
    const t = await tm.enqueue('w', 'write hello', 'claude-code');
    await x.started;
    const stream = [
      line({ type: 'system', subtype: 'init', session_id: 's1', model: 'claude-test', tools: ['Write'] }),
      line({ type: 'assistant', message: { content: [{ type: 'tool_use', id: 'tu1', name: 'Write', input: { file_path: '/workspace/a.txt', content: 'x'.repeat(20_000) } }] } }),
      line({ type: 'user', message: { content: [{ type: 'tool_result', tool_use_id: 'tu1', content: 'File created' }] } }),
      line({ type: 'result', subtype: 'success', result: 'Done.', num_turns: 2, total_cost_usd: 0.01, usage: { input_tokens: 5, output_tokens: 7 } }),
    ].join('');
    // Split mid-line and mid-UTF-8 sequence: chunk boundaries fall anywhere.
    const bytes = Buffer.from(stream);
    x.out.write(bytes.subarray(0, 50));
    x.err.write('a warning on stderr is not a step\n');
    x.out.write(bytes.subarray(50, 300));
    x.out.write(bytes.subarray(300));
    x.end(0);
    const done = await tm.waitFor(t.id);
    expect(x.statuses).toEqual(['Waiting for the VM']);
    expect(changes.some((c) => c.statusLine === 'Waiting for the VM')).toBe(true);
    expect(done).toMatchObject({ state: 'succeeded', statusLine: 'Done in 2 turns', progress: { kind: 'none' } });
    expect(events.map((e) => [e.index, e.step.kind])).toEqual([[0, 'session'], [1, 'tool-use'], [2, 'tool-result'], [3, 'result']]);
    expect(events[1]!.step).toMatchObject({ kind: 'tool-use', name: 'Write', summary: 'Write: /workspace/a.txt' });
    expect(JSON.stringify(events)).not.toContain('xxxxxxxx'); // the file's content stays in the output log
    expect(events[2]!.step).toMatchObject({ kind: 'tool-result', toolName: 'Write', isError: false, text: 'File created' });
    const stored = await tm.readSteps(t.id);
    expect(stored).toEqual(events);
    expect(stored.every((s) => s.taskId === t.id)).toBe(true);
    // The raw output (both streams) is still the task's log.
    expect((await tm.readOutput(t.id, 0, 1 << 20)).data).toContain('a warning on stderr');
  });

  it('caps the step list with one notice and keeps it readable after a torn last line', async () => {
    const path = join(dir, 'steps.jsonl');
    const log = new StepLog('t1', path, { maxSteps: 3, maxBytes: 1 << 20 }, () => 42);
    const recs = [1, 2, 3, 4, 5].map((i) => log.append({ kind: 'text', text: `step ${i}` }));
    expect(recs.map((r) => r?.step.kind ?? null)).toEqual(['text', 'text', 'notice', null, null]);
    await log.flush();
    await import('node:fs/promises').then((fs) => fs.appendFile(path, '{"taskId":"t1","ind'));
    const read = await readSteps(path);
    expect(read.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(read[2]!.step).toMatchObject({ kind: 'notice', text: expect.stringMatching(/limit/) });
    expect(await readFile(path, 'utf8')).not.toContain('step 3');
    expect(await readSteps(join(dir, 'none.jsonl'))).toEqual([]);
  });
});
