/**
 * The app's store instances on the real window API, wired to the push events once.
 * Components use the hooks; tests build stores with the factories and a fake API.
 */
import { useStore } from 'zustand';
import { createApiKeyStore, type ApiKeyState } from './api-key-store.js';
import { createEgressStore, type EgressState } from './egress-store.js';
import { createProfileStore, type ProfileState } from './profile-store.js';
import { createTaskStore, type TaskState } from './task-store.js';
import { createViewStore, type ViewState } from './view-store.js';
import { createWorkspaceStore, type WorkspaceState } from './workspace-store.js';
import { vivariumApi } from '../vivarium-api.js';

const api = vivariumApi();

/** The workspace store of this window. */
export const workspaceStore = createWorkspaceStore(api);
/** The task store of this window. */
export const taskStore = createTaskStore(api);
/** Blocked requests waiting for this window's answer. */
export const egressStore = createEgressStore(api);
/** The agent profiles the core offers. */
export const profileStore = createProfileStore(api);
/** Whether each API's key is available (never the keys). */
export const apiKeyStore = createApiKeyStore(api);
/** Which screen the window shows. */
export const viewStore = createViewStore();

api.on('workspace:changed', (ws) => workspaceStore.getState().applyChanged(ws));
api.on('workspace:removed', ({ workspaceId }) => {
  workspaceStore.getState().applyRemoved(workspaceId);
  taskStore.getState().dropWorkspace(workspaceId);
});
api.on('vm:progress', (p) => workspaceStore.getState().applyBootProgress(p));
api.on('task:changed', (t) => taskStore.getState().applyChanged(t));
api.on('egress:prompt', (p) => egressStore.getState().applyPrompt(p));
api.on('egress:promptSettled', (s) => egressStore.getState().applySettled(s));
// Prompts raised before this window opened (or while it reloaded) still wait for an answer.
api.on('workspace:changed', (ws) => {
  if (ws.vm.state === 'running') void egressStore.getState().load(ws.id).catch(() => undefined);
});
// A notification or tray click in the desktop app: show that workspace, and the task if named.
api.on('app:focus', ({ workspaceId, taskId }) => {
  viewStore.getState().openWorkspace();
  workspaceStore.getState().select(workspaceId);
  if (taskId !== null) taskStore.getState().select(workspaceId, taskId);
});

/** Reads the workspace store through a selector. */
export function useWorkspaces<T>(selector: (s: WorkspaceState) => T): T {
  return useStore(workspaceStore, selector);
}

/** Reads the egress prompt store through a selector. */
export function useEgress<T>(selector: (s: EgressState) => T): T {
  return useStore(egressStore, selector);
}

/** Reads the task store through a selector. */
export function useTasks<T>(selector: (s: TaskState) => T): T {
  return useStore(taskStore, selector);
}

/** Reads the profile store through a selector. */
export function useProfiles<T>(selector: (s: ProfileState) => T): T {
  return useStore(profileStore, selector);
}

/** Reads the API key status store through a selector. */
export function useApiKeys<T>(selector: (s: ApiKeyState) => T): T {
  return useStore(apiKeyStore, selector);
}

/** Reads the view store through a selector. */
export function useView<T>(selector: (s: ViewState) => T): T {
  return useStore(viewStore, selector);
}
