/**
 * Tasks as snapshots per workspace, loaded through the API and refreshed by `task:changed`;
 * plus the selected task of each workspace. Output is a stream, not a snapshot: TaskOutput
 * reads it directly from the API.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { TaskSnapshot } from '../../shared/contract-schemas.js';
import { toVivError, type VivError } from '../../shared/errors.js';
import type { VivariumApi } from '../vivarium-api.js';

export interface TaskState {
  /** Tasks of each loaded workspace, newest first. */
  byWorkspace: Record<string, TaskSnapshot[]>;
  loadErrors: Record<string, VivError>;
  selectedByWorkspace: Record<string, string>;
  load(workspaceId: string): Promise<void>;
  select(workspaceId: string, taskId: string): void;
  applyChanged(task: TaskSnapshot): void;
  /**
   * Adds a task from a call's reply unless an event already brought it. The core emits events
   * before it replies, so the reply can be older than what the store holds (a `queued` reply
   * after the `running` event); events are authoritative.
   */
  applyReply(task: TaskSnapshot): void;
  /** Forgets a removed workspace's tasks. */
  dropWorkspace(workspaceId: string): void;
}

const newestFirst = (a: TaskSnapshot, b: TaskSnapshot): number => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1);

/** Creates the store on an API (the app passes window.vivarium's; tests pass a fake). */
export function createTaskStore(api: Pick<VivariumApi, 'task'>): StoreApi<TaskState> {
  return createStore<TaskState>((set, get) => ({
    byWorkspace: {},
    loadErrors: {},
    selectedByWorkspace: {},
    async load(workspaceId) {
      try {
        const tasks = [...(await api.task.list({ workspaceId }))].sort(newestFirst);
        const { [workspaceId]: _dropped, ...loadErrors } = get().loadErrors;
        set({ byWorkspace: { ...get().byWorkspace, [workspaceId]: tasks }, loadErrors });
      } catch (e) {
        set({ loadErrors: { ...get().loadErrors, [workspaceId]: toVivError(e) } });
      }
    },
    select(workspaceId, taskId) {
      set({ selectedByWorkspace: { ...get().selectedByWorkspace, [workspaceId]: taskId } });
    },
    applyChanged(task) {
      const list = get().byWorkspace[task.workspaceId] ?? [];
      const next = list.some((t) => t.id === task.id) ? list.map((t) => (t.id === task.id ? task : t)) : [task, ...list].sort(newestFirst);
      set({ byWorkspace: { ...get().byWorkspace, [task.workspaceId]: next } });
    },
    applyReply(task) {
      const list = get().byWorkspace[task.workspaceId] ?? [];
      if (!list.some((t) => t.id === task.id)) get().applyChanged(task);
    },
    dropWorkspace(workspaceId) {
      const { [workspaceId]: _t, ...byWorkspace } = get().byWorkspace;
      const { [workspaceId]: _s, ...selectedByWorkspace } = get().selectedByWorkspace;
      set({ byWorkspace, selectedByWorkspace });
    },
  }));
}
