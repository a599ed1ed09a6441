import { describe, expect, it } from 'vitest';
import type { TaskSnapshot, WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { ShellState, titleOf } from './shell-state.js';
import { trayModel } from './tray-model.js';

const ws = (over: Partial<WorkspaceSnapshot> = {}): WorkspaceSnapshot => ({
  id: 'w1', name: 'site', grant: null, settings: { cpus: 2, memoryMiB: 1024, keepState: false }, egress: { mode: 'off' },
  vm: { state: 'running', reason: null, bootMs: 3000, startedAt: 1 }, ...over,
});
const task = (over: Partial<TaskSnapshot> = {}): TaskSnapshot => ({
  id: 't1', workspaceId: 'w1', command: 'npm test', profileId: null, state: 'running', exitCode: null,
  signal: null, reason: null, progress: { kind: 'normal', percent: 50 }, statusLine: null,
  createdAt: 1, startedAt: 1_000, endedAt: null, ...over,
});

describe('ShellState', () => {
  it('feeds the tray with running tasks, their workspace and progress', () => {
    const s = new ShellState();
    s.load([ws()], [task(), task({ id: 't2', state: 'succeeded' })]);
    const m = trayModel(s.tray());
    expect(m.items[0]).toMatchObject({ label: 'site: npm test — 50%' });
    expect(s.work()).toEqual({ runningTasks: 1, queuedTasks: 0, runningVms: 1 });
  });

  it('announces a task end exactly once, with its duration', () => {
    const s = new ShellState();
    s.load([ws()], [task()]);
    const ended = task({ state: 'failed', exitCode: 3, endedAt: 61_000 });
    expect(s.apply({ event: 'task:changed', payload: ended })).toMatchObject({
      kind: 'taskEnded', state: 'failed', exitCode: 3, durationMs: 60_000, workspaceName: 'site', cancelledByUser: false,
    });
    expect(s.apply({ event: 'task:changed', payload: ended })).toBeNull();
  });

  it('knows a cancel the user asked for', () => {
    const s = new ShellState();
    s.load([ws()], [task()]);
    s.noteUserCancel('t1');
    expect(s.apply({ event: 'task:changed', payload: task({ state: 'cancelled', endedAt: 2000 }) })).toMatchObject({ cancelledByUser: true });
  });

  it('forgets a removed workspace\'s tasks', () => {
    const s = new ShellState();
    s.load([ws()], [task()]);
    s.apply({ event: 'workspace:removed', payload: { workspaceId: 'w1' } });
    expect(s.work()).toEqual({ runningTasks: 0, queuedTasks: 0, runningVms: 0 });
  });

  it('a blocked host notifies, raises the attention icon until settled, and knows its task', () => {
    const s = new ShellState();
    s.load([ws({ vm: { state: 'stopped', reason: null, bootMs: null, startedAt: null } })], []);
    const n = s.apply({
      event: 'egress:prompt',
      payload: {
        id: 'd1', workspaceId: 'w1', taskId: 't1', host: 'example.com', port: 443, kind: 'connect', method: null,
        blockedAs: 'blocked-by-policy', reason: 'not allowed', createdAt: 0, expiresAt: 60_000,
      },
    });
    expect(n).toMatchObject({ kind: 'hostBlocked', decisionId: 'd1', workspaceId: 'w1', taskId: 't1', workspaceName: 'site' });
    expect(trayModel(s.tray()).icon).toBe('attention');
    expect(s.decisionTarget('d1')).toEqual({ workspaceId: 'w1', taskId: 't1' });
    s.apply({ event: 'egress:promptSettled', payload: { workspaceId: 'w1', promptId: 'd1', outcome: 'once' } });
    expect(trayModel(s.tray()).icon).toBe('idle');
    expect(s.decisionTarget('d1')).toBeNull();
  });
});

describe('titleOf', () => {
  it('uses the first line of the command, else the profile', () => {
    expect(titleOf({ command: 'make\n&& make install', profileId: null })).toBe('make');
    expect(titleOf({ command: '  ', profileId: 'claude-code' })).toBe('claude-code');
  });
});
