/**
 * What closing the window and quitting do, as pure decisions. Tasks keep running with the
 * window closed; quitting while work runs asks first, then stops tasks and VMs cleanly.
 */

export interface WorkState {
  runningTasks: number;
  queuedTasks: number;
  runningVms: number;
}

export type CloseDecision = 'hide-to-tray' | 'close-and-quit' | 'close-keep-app';

/**
 * Closing the main window: with work going on (or a tray to live in) it only hides; on macOS an
 * idle app stays in the dock as Mac apps do; elsewhere an idle app without a tray quits.
 */
export function decideWindowClose(work: WorkState, platform: NodeJS.Platform, hasTray: boolean): CloseDecision {
  const busy = work.runningTasks + work.queuedTasks > 0;
  if (busy) return 'hide-to-tray';
  if (platform === 'darwin') return 'close-keep-app';
  return hasTray ? 'hide-to-tray' : 'close-and-quit';
}

export type QuitDecision = { action: 'quit' } | { action: 'ask'; message: string; detail: string };

/** Quitting: quit at once when idle, otherwise ask with the numbers the user needs. */
export function decideQuit(work: WorkState): QuitDecision {
  const tasks = work.runningTasks + work.queuedTasks;
  if (tasks === 0) return { action: 'quit' };
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  return {
    action: 'ask',
    message: `Quit Vivarium and stop ${plural(tasks, 'task')}?`,
    detail:
      `${plural(work.runningTasks, 'task')} running, ${work.queuedTasks} queued, ${plural(work.runningVms, 'VM')} running. ` +
      'Running tasks are cancelled and their VMs shut down. Files they already wrote stay.',
  };
}

/** The buttons of the quit question; the index of `cancel` is also what Escape picks. */
export const QUIT_BUTTONS = { labels: ['Stop tasks and quit', 'Keep running'], quit: 0, cancel: 1 } as const;
