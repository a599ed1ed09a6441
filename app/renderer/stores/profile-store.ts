/**
 * The agent profiles the core offers (shell, Claude Code, Codex...), loaded once through the API.
 * The new-task form lists them; the task view reads whether a task's profile shows steps.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AgentProfile } from '../../shared/contract-schemas.js';
import { toVivError, type VivError } from '../../shared/errors.js';
import type { VivariumApi } from '../vivarium-api.js';

export interface ProfileState {
  profiles: AgentProfile[];
  loaded: boolean;
  loadError: VivError | null;
  /** Loads the list; later calls reuse it unless the last load failed. */
  load(): Promise<void>;
}

/** Creates the store on an API (the app passes window.vivarium's; tests pass a fake). */
export function createProfileStore(api: Pick<VivariumApi, 'profile'>): StoreApi<ProfileState> {
  let pending: Promise<void> | null = null;
  return createStore<ProfileState>((set, get) => ({
    profiles: [],
    loaded: false,
    loadError: null,
    load() {
      if (get().loaded && !get().loadError) return Promise.resolve();
      pending ??= api.profile.list().then(
        (profiles) => set({ profiles, loaded: true, loadError: null }),
        (e: unknown) => set({ loaded: true, loadError: toVivError(e) }),
      ).finally(() => {
        pending = null;
      });
      return pending;
    },
  }));
}

/** The profile with `id` (null means the plain shell command), or null when the core has none such. */
export function profileById(profiles: readonly AgentProfile[], id: string | null): AgentProfile | null {
  return profiles.find((p) => p.id === (id ?? 'shell')) ?? null;
}
