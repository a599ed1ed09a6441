/**
 * The app's store instances on the real window API, wired to the push events once.
 * Components use the hooks; tests build stores with the factories and a fake API.
 */
import { useStore } from 'zustand';
import { createTaskStore, type TaskState } from './task-store.js';
import { createWorkspaceStore, type WorkspaceState } from './workspace-store.js';
import { vivariumApi } from '../vivarium-api.js';

const api = vivariumApi();

/** The workspace store of this window. */
export const workspaceStore = createWorkspaceStore(api);
/** The task store of this window. */
export const taskStore = createTaskStore(api);

api.on('workspace:changed', (ws) => workspaceStore.getState().applyChanged(ws));
api.on('workspace:removed', ({ workspaceId }) => {
  workspaceStore.getState().applyRemoved(workspaceId);
  taskStore.getState().dropWorkspace(workspaceId);
});
api.on('vm:progress', (p) => workspaceStore.getState().applyBootProgress(p));
api.on('task:changed', (t) => taskStore.getState().applyChanged(t));
// A notification or tray click in the desktop app: show that workspace, and the task if named.
api.on('app:focus', ({ workspaceId, taskId }) => {
  workspaceStore.getState().select(workspaceId);
  if (taskId !== null) taskStore.getState().select(workspaceId, taskId);
});

/** Reads the workspace store through a selector. */
export function useWorkspaces<T>(selector: (s: WorkspaceState) => T): T {
  return useStore(workspaceStore, selector);
}

/** Reads the task store through a selector. */
export function useTasks<T>(selector: (s: TaskState) => T): T {
  return useStore(taskStore, selector);
}
