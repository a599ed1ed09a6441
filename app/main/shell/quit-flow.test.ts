import { describe, expect, it } from 'vitest';
import { decideQuit, decideWindowClose } from './quit-flow.js';

const idle = { runningTasks: 0, queuedTasks: 0, runningVms: 0 };
describe('decideWindowClose', () => {
  it('keeps running tasks going in the tray on every platform', () => {
    for (const p of ['linux', 'win32', 'darwin'] as const) {
      expect(decideWindowClose({ ...idle, runningTasks: 1 }, p, true)).toBe('hide-to-tray');
    }
  });
  it('an idle Mac app stays in the dock; elsewhere it lives in the tray, or quits without one', () => {
    expect(decideWindowClose(idle, 'darwin', true)).toBe('close-keep-app');
    expect(decideWindowClose(idle, 'linux', true)).toBe('hide-to-tray');
    expect(decideWindowClose(idle, 'win32', false)).toBe('close-and-quit');
  });
});

describe('decideQuit', () => {
  it('quits at once when nothing runs, even with a VM up', () => {
    expect(decideQuit({ ...idle, runningVms: 2 })).toEqual({ action: 'quit' });
  });
  it('asks first while tasks run, with the numbers', () => {
    const d = decideQuit({ runningTasks: 2, queuedTasks: 1, runningVms: 1 });
    expect(d).toMatchObject({ action: 'ask', message: 'Quit Vivarium and stop 3 tasks?' });
    if (d.action === 'ask') expect(d.detail).toContain('2 tasks running, 1 queued, 1 VM running');
  });
});
