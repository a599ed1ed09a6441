import { describe, expect, it } from 'vitest';
import { aggregateProgress, trayModel, TRAY_MAX_TASKS, type TrayTask } from './tray-model.js';

const task = (over: Partial<TrayTask>): TrayTask => ({
  id: 't1', title: 'npm test', workspaceName: 'site', state: 'running', progress: null, ...over,
});
const labels = (m: ReturnType<typeof trayModel>) => m.items.map((i) => (i.kind === 'separator' ? '---' : i.label));

describe('trayModel', () => {
  it('idle: says so, Stop all disabled, idle icon, no progress', () => {
    const m = trayModel({ tasks: [task({ state: 'succeeded' })], pendingHosts: [], runningVms: 0 });
    expect(m.icon).toBe('idle');
    expect(labels(m)).toEqual(['No tasks running', '---', 'Open Vivarium', 'Stop all tasks and VMs', 'Quit Vivarium']);
    expect(m.items.find((i) => i.kind === 'item' && i.action.type === 'stopAll')).toMatchObject({ enabled: false });
    expect(m.progress).toEqual({ mode: 'none', value: -1 });
    expect(m.tooltip).toBe('Vivarium — idle');
  });

  it('lists running tasks with their progress first, then queued ones; busy icon', () => {
    const m = trayModel({
      tasks: [task({ id: 'q', state: 'queued', title: 'later' }), task({ id: 'r', progress: 42.4, title: 'build' })],
      pendingHosts: [], runningVms: 1,
    });
    expect(m.icon).toBe('busy');
    expect(labels(m).slice(0, 2)).toEqual(['site: build — 42%', 'site: later — queued']);
    expect(m.items[0]).toMatchObject({ kind: 'item', action: { type: 'openTask', taskId: 'r' } });
    expect(m.tooltip).toBe('Vivarium — 1 running, 1 queued');
  });

  it('puts decisions first and shows the attention icon', () => {
    const m = trayModel({ tasks: [task({})], pendingHosts: [{ id: 'd1', host: 'api.example.com', port: 443, workspaceName: 'site' }], runningVms: 1 });
    expect(m.icon).toBe('attention');
    expect(labels(m).slice(0, 2)).toEqual(['Waiting for your decision (1)', 'site: allow api.example.com:443?']);
    expect(m.items[1]).toMatchObject({ action: { type: 'openDecision', decisionId: 'd1' } });
  });

  it('caps the list and counts the rest', () => {
    const tasks = Array.from({ length: TRAY_MAX_TASKS + 3 }, (_, i) => task({ id: `t${i}` }));
    const m = trayModel({ tasks, pendingHosts: [], runningVms: 1 });
    expect(m.items.filter((i) => i.kind === 'item' && i.action.type === 'openTask')).toHaveLength(TRAY_MAX_TASKS);
    expect(labels(m)).toContain('and 3 more…');
  });

  it('Stop all is enabled when only a VM runs', () => {
    const m = trayModel({ tasks: [], pendingHosts: [], runningVms: 1 });
    expect(m.items.find((i) => i.kind === 'item' && i.action.type === 'stopAll')).toMatchObject({ enabled: true });
  });
});

describe('aggregateProgress', () => {
  it('is the mean of tasks that report progress', () => {
    expect(aggregateProgress([task({ progress: 20 }), task({ progress: 60 }), task({ progress: null })])).toEqual({ mode: 'normal', value: 0.4 });
  });
  it('is indeterminate when running tasks report none', () => {
    expect(aggregateProgress([task({ progress: null })])).toEqual({ mode: 'indeterminate', value: 2 });
  });
  it('turns to error when a task reports an error state', () => {
    expect(aggregateProgress([task({ progress: 50, progressError: true })]).mode).toBe('error');
  });
  it('clamps out-of-range values', () => {
    expect(aggregateProgress([task({ progress: 250 })]).value).toBe(1);
  });
});
