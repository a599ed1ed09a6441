/**
 * The tray menu, icon and aggregate progress as a pure function of state. The shell renders the
 * result with Electron's Tray/Menu; everything a user sees in the tray is decided (and tested) here.
 */

/** Task states as the core reports them. */
export type TrayTaskState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** What the tray needs to know of a task. */
export interface TrayTask {
  id: string;
  title: string;
  workspaceName: string;
  state: TrayTaskState;
  /** 0-100 from OSC 9;4, or null when the task reports none. */
  progress: number | null;
  /** True when the task's last OSC 9;4 state was "error". */
  progressError?: boolean;
}

/** A network host a task tried to reach, waiting for the user's decision. */
export interface TrayPendingHost {
  id: string;
  host: string;
  port: number;
  workspaceName: string;
}

export interface TrayState {
  tasks: readonly TrayTask[];
  pendingHosts: readonly TrayPendingHost[];
  runningVms: number;
}

export type TrayAction =
  | { type: 'openTask'; taskId: string }
  | { type: 'openDecision'; decisionId: string }
  | { type: 'openWindow' }
  | { type: 'stopAll' }
  | { type: 'quit' };

export type TrayItem =
  | { kind: 'item'; label: string; enabled: boolean; action: TrayAction }
  | { kind: 'label'; label: string }
  | { kind: 'separator' };

/** Aggregate progress for the dock / taskbar, in Electron's setProgressBar terms. */
export interface AggregateProgress {
  mode: 'none' | 'normal' | 'indeterminate' | 'error';
  /** 0..1 for normal/error; -1 for none; 2 for indeterminate (Electron's convention). */
  value: number;
}

export interface TrayModel {
  icon: 'idle' | 'busy' | 'attention';
  tooltip: string;
  progress: AggregateProgress;
  items: TrayItem[];
}

/** At most this many tasks are listed; the rest are counted. */
export const TRAY_MAX_TASKS = 8;

/** Builds the tray for `state`. Pure: same state, same model. */
export function trayModel(state: TrayState): TrayModel {
  const running = state.tasks.filter((t) => t.state === 'running');
  const queued = state.tasks.filter((t) => t.state === 'queued');
  const items: TrayItem[] = [];

  if (state.pendingHosts.length > 0) {
    items.push({ kind: 'label', label: `Waiting for your decision (${state.pendingHosts.length})` });
    for (const h of state.pendingHosts.slice(0, TRAY_MAX_TASKS)) {
      items.push({
        kind: 'item',
        label: `${h.workspaceName}: allow ${h.host}:${h.port}?`,
        enabled: true,
        action: { type: 'openDecision', decisionId: h.id },
      });
    }
    items.push({ kind: 'separator' });
  }

  if (running.length + queued.length === 0) {
    items.push({ kind: 'label', label: 'No tasks running' });
  } else {
    const shown = [...running, ...queued].slice(0, TRAY_MAX_TASKS);
    for (const t of shown) items.push({ kind: 'item', label: taskLabel(t), enabled: true, action: { type: 'openTask', taskId: t.id } });
    const more = running.length + queued.length - shown.length;
    if (more > 0) items.push({ kind: 'label', label: `and ${more} more…` });
  }

  items.push({ kind: 'separator' });
  items.push({ kind: 'item', label: 'Open Vivarium', enabled: true, action: { type: 'openWindow' } });
  items.push({
    kind: 'item',
    label: 'Stop all tasks and VMs',
    enabled: running.length + queued.length + state.runningVms > 0,
    action: { type: 'stopAll' },
  });
  items.push({ kind: 'item', label: 'Quit Vivarium', enabled: true, action: { type: 'quit' } });

  const icon = state.pendingHosts.length > 0 ? 'attention' : running.length > 0 ? 'busy' : 'idle';
  return { icon, tooltip: tooltip(running.length, queued.length, state.pendingHosts.length), progress: aggregateProgress(state.tasks), items };
}

function taskLabel(t: TrayTask): string {
  const where = `${t.workspaceName}: ${truncate(t.title, 40)}`;
  if (t.state === 'queued') return `${where} — queued`;
  return t.progress === null ? `${where} — running` : `${where} — ${Math.round(t.progress)}%`;
}

function tooltip(running: number, queued: number, waiting: number): string {
  const parts: string[] = [];
  if (running > 0) parts.push(`${running} running`);
  if (queued > 0) parts.push(`${queued} queued`);
  if (waiting > 0) parts.push(`${waiting} waiting for you`);
  return parts.length === 0 ? 'Vivarium — idle' : `Vivarium — ${parts.join(', ')}`;
}

/**
 * Aggregate progress of running tasks: the mean of those that report a percentage. Running
 * tasks that report none make it indeterminate when no task reports one; any task in error
 * state turns the bar to error.
 */
export function aggregateProgress(tasks: readonly TrayTask[]): AggregateProgress {
  const running = tasks.filter((t) => t.state === 'running');
  if (running.length === 0) return { mode: 'none', value: -1 };
  const known = running.filter((t) => t.progress !== null);
  if (known.length === 0) return { mode: 'indeterminate', value: 2 };
  const mean = known.reduce((s, t) => s + Math.min(100, Math.max(0, t.progress ?? 0)), 0) / known.length / 100;
  return { mode: running.some((t) => t.progressError) ? 'error' : 'normal', value: mean };
}

function truncate(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length <= n ? one : `${one.slice(0, n - 1)}…`;
}
