/**
 * The shell's view of the core, kept from push events: task and workspace snapshots, from which
 * the tray model, the work counts of the quit flow and the "task ended" notifications derive.
 * Pure (no electron), so the decisions are unit-tested.
 */
import type { TaskSnapshot, WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import type { CoreEvent } from '../api/window-core.js';
import type { NotifiableEvent } from './notifications.js';
import type { TrayPendingHost, TrayState } from './tray-model.js';
import type { WorkState } from './quit-flow.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Snapshots of everything the tray and the quit flow need. */
export class ShellState {
  private readonly tasks = new Map<string, TaskSnapshot>();
  private readonly workspaces = new Map<string, WorkspaceSnapshot>();
  private readonly pending = new Map<string, TrayPendingHost>();
  private readonly decisions = new Map<string, { workspaceId: string; taskId: string | null }>();
  /** Tasks the user cancelled from this app, so their end is not announced. */
  private readonly cancelledHere = new Set<string>();

  /** Seeds the state (at start-up) from full lists. */
  load(workspaces: readonly WorkspaceSnapshot[], tasks: readonly TaskSnapshot[]): void {
    for (const w of workspaces) this.workspaces.set(w.id, w);
    for (const t of tasks) this.tasks.set(t.id, t);
  }

  /** Remembers that the user asked to cancel `taskId` (no notification when it ends). */
  noteUserCancel(taskId: string): void {
    this.cancelledHere.add(taskId);
  }

  /**
   * Applies a core event. Returns the notifiable event when a task has just reached a final
   * state (once per task), else null.
   */
  apply(e: CoreEvent): NotifiableEvent | null {
    switch (e.event) {
      case 'workspace:changed':
        this.workspaces.set(e.payload.id, e.payload);
        return null;
      case 'workspace:removed':
        this.workspaces.delete(e.payload.workspaceId);
        for (const [id, t] of this.tasks) if (t.workspaceId === e.payload.workspaceId) this.tasks.delete(id);
        return null;
      case 'task:changed': {
        const before = this.tasks.get(e.payload.id);
        const t = e.payload;
        this.tasks.set(t.id, t);
        if (!FINAL.has(t.state) || (before && FINAL.has(before.state))) return null;
        const state = t.state as 'succeeded' | 'failed' | 'cancelled';
        return {
          kind: 'taskEnded',
          workspaceId: t.workspaceId,
          taskId: t.id,
          title: titleOf(t),
          workspaceName: this.workspaces.get(t.workspaceId)?.name ?? 'Workspace',
          state,
          exitCode: t.exitCode,
          durationMs: t.startedAt !== null && t.endedAt !== null ? t.endedAt - t.startedAt : 0,
          cancelledByUser: state === 'cancelled' && this.cancelledHere.delete(t.id),
        };
      }
      case 'egress:prompt': {
        const p = e.payload;
        const workspaceName = this.workspaces.get(p.workspaceId)?.name ?? 'Workspace';
        this.pending.set(p.id, { id: p.id, host: p.host, port: p.port, workspaceName });
        this.decisions.set(p.id, { workspaceId: p.workspaceId, taskId: p.taskId });
        return {
          kind: 'hostBlocked', decisionId: p.id, workspaceId: p.workspaceId, taskId: p.taskId,
          host: p.host, port: p.port, workspaceName, expiresAt: p.expiresAt,
        };
      }
      case 'egress:promptSettled':
        this.pending.delete(e.payload.promptId);
        this.decisions.delete(e.payload.promptId);
        return null;
      default:
        return null;
    }
  }

  /** The workspace and task a waiting decision belongs to. */
  decisionTarget(decisionId: string): { workspaceId: string; taskId: string | null } | null {
    return this.decisions.get(decisionId) ?? null;
  }

  /** The workspace a known task belongs to. */
  workspaceOf(taskId: string): string | null {
    return this.tasks.get(taskId)?.workspaceId ?? null;
  }

  /** The tray's input. */
  tray(): TrayState {
    const tasks = [...this.tasks.values()]
      .filter((t) => t.state === 'running' || t.state === 'queued')
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((t) => ({
        id: t.id,
        title: titleOf(t),
        workspaceName: this.workspaces.get(t.workspaceId)?.name ?? 'Workspace',
        state: t.state,
        progress: t.progress.kind === 'normal' || t.progress.kind === 'error' || t.progress.kind === 'paused' ? t.progress.percent : null,
        progressError: t.progress.kind === 'error',
      }));
    return { tasks, pendingHosts: [...this.pending.values()], runningVms: this.runningVms() };
  }

  /** The quit flow's input. */
  work(): WorkState {
    let runningTasks = 0;
    let queuedTasks = 0;
    for (const t of this.tasks.values()) {
      if (t.state === 'running') runningTasks++;
      else if (t.state === 'queued') queuedTasks++;
    }
    return { runningTasks, queuedTasks, runningVms: this.runningVms() };
  }

  private runningVms(): number {
    let n = 0;
    for (const w of this.workspaces.values()) if (w.vm.state === 'running' || w.vm.state === 'starting') n++;
    return n;
  }
}

/** A task's title for menus and notifications: its command's first line. */
export function titleOf(t: Pick<TaskSnapshot, 'command' | 'profileId'>): string {
  const first = t.command.split('\n', 1)[0]?.trim() ?? '';
  return first.length > 0 ? first : (t.profileId ?? 'task');
}
