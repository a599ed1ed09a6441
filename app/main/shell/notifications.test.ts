import { describe, expect, it } from 'vitest';
import { formatDuration, notificationFor, type NotifiableEvent } from './notifications.js';

const ended = (over: Partial<Extract<NotifiableEvent, { kind: 'taskEnded' }>>): NotifiableEvent => ({
  kind: 'taskEnded', workspaceId: 'w1', taskId: 't1', title: 'npm test', workspaceName: 'site', state: 'succeeded',
  exitCode: 0, durationMs: 60_000, cancelledByUser: false, ...over,
});

describe('notificationFor', () => {
  it('tells about a long task that finished, and a click opens it', () => {
    expect(notificationFor(ended({}), true)).toEqual({
      title: 'Task finished', body: 'site: npm test — done in 1 min', target: { workspaceId: 'w1', taskId: 't1' }, urgency: 'normal',
    });
  });
  it('stays quiet for a short task the user watched', () => {
    expect(notificationFor(ended({ durationMs: 2000 }), true)).toBeNull();
    expect(notificationFor(ended({ durationMs: 2000 }), false)).not.toBeNull();
  });
  it('names the exit code of a failure', () => {
    expect(notificationFor(ended({ state: 'failed', exitCode: 3 }), false)?.body).toBe('site: npm test — exit code 3');
    expect(notificationFor(ended({ state: 'failed', exitCode: null }), false)?.body).toBe('site: npm test — ended abnormally');
  });
  it('does not tell the user about their own cancel', () => {
    expect(notificationFor(ended({ state: 'cancelled', cancelledByUser: true }), false)).toBeNull();
  });
  it('always notifies a blocked host, even with the window focused', () => {
    const n = notificationFor(
      { kind: 'hostBlocked', decisionId: 'd', workspaceId: 'w1', taskId: 't', host: 'evil.example', port: 443, workspaceName: 'site', expiresAt: 61_000 },
      true, 1_000,
    );
    expect(n).toMatchObject({ urgency: 'critical', target: { workspaceId: 'w1', taskId: 't', decisionId: 'd' } });
    expect(n?.title).toContain('evil.example:443');
    expect(n?.body).toContain('waits 60 s');
  });
});

describe('formatDuration', () => {
  it('reads like a person would say it', () => {
    expect(formatDuration(4200)).toBe('4 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    expect(formatDuration(3_780_000)).toBe('1 h 3 min');
  });
});
