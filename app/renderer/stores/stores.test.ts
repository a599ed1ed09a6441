import { describe, expect, it } from 'vitest';
import type { TaskSnapshot, WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { VivError } from '../../shared/errors.js';
import { createTaskStore } from './task-store.js';
import { createWorkspaceStore, selectSelected } from './workspace-store.js';

const ws = (id: string, state: WorkspaceSnapshot['vm']['state'] = 'stopped'): WorkspaceSnapshot => ({
  id, name: id, grant: { workspaceId: id, canonicalPath: `/tmp/${id}`, mode: 'rw', createdAt: 1 },
  vm: { state, reason: null, bootMs: null, startedAt: null }, settings: { cpus: 1, memoryMiB: 512, keepState: false },
  egress: { mode: 'off' },
});
const task = (id: string, createdAt: number, state: TaskSnapshot['state'] = 'queued'): TaskSnapshot => ({
  id, workspaceId: 'w1', command: `echo ${id}`, profileId: null, state, exitCode: null, signal: null, reason: null,
  progress: { kind: 'none', percent: null }, statusLine: null, createdAt, startedAt: null, endedAt: null,
});

describe('workspace store', () => {
  it('loads the snapshot and selects the first workspace', async () => {
    const s = createWorkspaceStore({ workspace: { list: async () => [ws('a'), ws('b')] } } as never);
    await s.getState().load();
    expect(s.getState().loaded).toBe(true);
    expect(selectSelected(s.getState())?.id).toBe('a');
  });

  it('keeps a load failure as a VivError for the error notice', async () => {
    const s = createWorkspaceStore({ workspace: { list: async () => { throw new VivError('internal', 'state.json is corrupt'); } } } as never);
    await s.getState().load();
    expect(s.getState().loadError).toMatchObject({ code: 'internal', message: 'state.json is corrupt' });
  });

  it('applies change and removal events', async () => {
    const s = createWorkspaceStore({ workspace: { list: async () => [ws('a'), ws('b')] } } as never);
    await s.getState().load();
    s.getState().applyChanged(ws('a', 'running'));
    s.getState().applyChanged(ws('c'));
    expect(s.getState().workspaces.map((w) => `${w.id}:${w.vm.state}`)).toEqual(['a:running', 'b:stopped', 'c:stopped']);
    s.getState().applyRemoved('a');
    expect(s.getState().selectedId).toBe('b');
    expect(s.getState().workspaces.map((w) => w.id)).toEqual(['b', 'c']);
  });
});

describe('task store', () => {
  it('loads newest first and merges change events without duplicates', async () => {
    const s = createTaskStore({ task: { list: async () => [task('t1', 1), task('t2', 2)] } } as never);
    await s.getState().load('w1');
    expect(s.getState().byWorkspace.w1!.map((t) => t.id)).toEqual(['t2', 't1']);
    s.getState().applyChanged(task('t1', 1, 'running'));
    s.getState().applyChanged(task('t3', 3));
    expect(s.getState().byWorkspace.w1!.map((t) => `${t.id}:${t.state}`)).toEqual(['t3:queued', 't2:queued', 't1:running']);
  });

  it('never lets an older call reply overwrite a newer event', async () => {
    const s = createTaskStore({ task: { list: async () => [] } } as never);
    await s.getState().load('w1');
    s.getState().applyChanged(task('t1', 1, 'running')); // the event arrives first
    s.getState().applyReply(task('t1', 1, 'queued')); // then the reply to task:start
    expect(s.getState().byWorkspace.w1!.map((t) => t.state)).toEqual(['running']);
    s.getState().applyReply(task('t2', 2));
    expect(s.getState().byWorkspace.w1!.map((t) => t.id)).toEqual(['t2', 't1']);
  });

  it('forgets a removed workspace', async () => {
    const s = createTaskStore({ task: { list: async () => [task('t1', 1)] } } as never);
    await s.getState().load('w1');
    s.getState().select('w1', 't1');
    s.getState().dropWorkspace('w1');
    expect(s.getState().byWorkspace).toEqual({});
    expect(s.getState().selectedByWorkspace).toEqual({});
  });
});
