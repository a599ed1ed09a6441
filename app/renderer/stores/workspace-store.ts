/**
 * Workspaces as snapshots (STYLE.md rule 7): loaded through the API, refreshed by the
 * `workspace:changed` / `workspace:removed` push events, plus which one is selected.
 * No lifecycle logic lives here; the core owns it.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BootProgress, WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { toVivError, type VivError } from '../../shared/errors.js';
import type { VivariumApi } from '../vivarium-api.js';

export interface WorkspaceState {
  workspaces: WorkspaceSnapshot[];
  loaded: boolean;
  loadError: VivError | null;
  selectedId: string | null;
  /** Failures of VM starts the window began on its own (after sharing a folder), per workspace. */
  startErrors: Record<string, VivError>;
  /** The latest boot step of each starting VM (from `vm:progress`). */
  bootProgress: Record<string, BootProgress & { receivedAt: number }>;
  /** Loads the list; keeps the selection when it still exists, else selects the first. */
  load(): Promise<void>;
  select(id: string | null): void;
  setStartError(workspaceId: string, error: VivError | null): void;
  applyBootProgress(progress: BootProgress): void;
  /** Applies a `workspace:changed` snapshot (insert or replace). */
  applyChanged(ws: WorkspaceSnapshot): void;
  applyRemoved(workspaceId: string): void;
  /** Adds a workspace from a call's reply unless an event already brought it (events are newer). */
  applyReply(ws: WorkspaceSnapshot): void;
}

/** Creates the store on an API (the app passes window.vivarium's; tests pass a fake). */
export function createWorkspaceStore(api: Pick<VivariumApi, 'workspace'>): StoreApi<WorkspaceState> {
  return createStore<WorkspaceState>((set, get) => ({
    workspaces: [],
    loaded: false,
    loadError: null,
    selectedId: null,
    startErrors: {},
    bootProgress: {},
    async load() {
      try {
        const workspaces = await api.workspace.list();
        const sel = get().selectedId;
        const selectedId = workspaces.some((w) => w.id === sel) ? sel : (workspaces[0]?.id ?? null);
        set({ workspaces, loaded: true, loadError: null, selectedId });
      } catch (e) {
        set({ loaded: true, loadError: toVivError(e) });
      }
    },
    select(id) {
      set({ selectedId: id });
    },
    setStartError(workspaceId, error) {
      const { [workspaceId]: _old, ...rest } = get().startErrors;
      set({ startErrors: error ? { ...rest, [workspaceId]: error } : rest });
    },
    applyChanged(ws) {
      const list = get().workspaces;
      const i = list.findIndex((w) => w.id === ws.id);
      set({ workspaces: i < 0 ? [...list, ws] : list.map((w) => (w.id === ws.id ? ws : w)) });
    },
    applyBootProgress(progress) {
      set({ bootProgress: { ...get().bootProgress, [progress.workspaceId]: { ...progress, receivedAt: Date.now() } } });
    },
    applyReply(ws) {
      if (!get().workspaces.some((w) => w.id === ws.id)) get().applyChanged(ws);
    },
    applyRemoved(workspaceId) {
      const workspaces = get().workspaces.filter((w) => w.id !== workspaceId);
      const selectedId = get().selectedId === workspaceId ? (workspaces[0]?.id ?? null) : get().selectedId;
      set({ workspaces, selectedId });
    },
  }));
}

/** The selected workspace, or null. */
export const selectSelected = (s: WorkspaceState): WorkspaceSnapshot | null =>
  s.workspaces.find((w) => w.id === s.selectedId) ?? null;
