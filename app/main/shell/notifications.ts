/**
 * When to show a native notification, and what it says. Pure decisions; the shell shows them
 * with Electron's Notification and opens the named task when one is clicked.
 */

export type NotifiableEvent =
  | {
      kind: 'taskEnded';
      workspaceId: string;
      taskId: string;
      title: string;
      workspaceName: string;
      state: 'succeeded' | 'failed' | 'cancelled';
      exitCode: number | null;
      durationMs: number;
      /** True when the user cancelled it themselves (no need to tell them). */
      cancelledByUser: boolean;
    }
  | {
      kind: 'hostBlocked';
      decisionId: string;
      workspaceId: string;
      taskId: string | null;
      host: string;
      port: number;
      workspaceName: string;
      /** When the waiting request gives up (epoch ms). */
      expiresAt: number;
    };

export interface NotificationSpec {
  title: string;
  body: string;
  /** What a click opens. */
  target: { workspaceId: string; taskId: string | null; decisionId?: string };
  /** Failures and decisions stay until seen; successes may go. */
  urgency: 'normal' | 'critical';
}

/** Tasks shorter than this, watched in a focused window, end without a notification. */
export const QUIET_TASK_MS = 10_000;

/** Decides whether `event` deserves a notification given whether our window has focus. */
export function notificationFor(event: NotifiableEvent, windowFocused: boolean, now = Date.now()): NotificationSpec | null {
  if (event.kind === 'hostBlocked') {
    // Always shown: the request waits for the user whether or not the window has focus.
    const left = Math.max(0, Math.round((event.expiresAt - now) / 1000));
    return {
      title: `${event.workspaceName}: a task wants to reach ${event.host}:${event.port}`,
      body: `Allow it once, always, or deny. The request waits ${left} s, then is refused.`,
      target: { workspaceId: event.workspaceId, taskId: event.taskId, decisionId: event.decisionId },
      urgency: 'critical',
    };
  }
  if (event.state === 'cancelled' && event.cancelledByUser) return null;
  if (windowFocused && event.durationMs < QUIET_TASK_MS) return null;
  const what = `${event.workspaceName}: ${event.title}`;
  switch (event.state) {
    case 'succeeded':
      return { title: 'Task finished', body: `${what} — done in ${formatDuration(event.durationMs)}`, target: { workspaceId: event.workspaceId, taskId: event.taskId }, urgency: 'normal' };
    case 'failed':
      return {
        title: 'Task failed',
        body: `${what} — ${event.exitCode === null ? 'ended abnormally' : `exit code ${event.exitCode}`}`,
        target: { workspaceId: event.workspaceId, taskId: event.taskId },
        urgency: 'critical',
      };
    case 'cancelled':
      return { title: 'Task cancelled', body: what, target: { workspaceId: event.workspaceId, taskId: event.taskId }, urgency: 'normal' };
  }
}

/** "4 s", "2 min 5 s", "1 h 3 min". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}
