/**
 * Which screen the window shows: the selected workspace, or the app's settings. Opening
 * settings may name the API whose key field should take focus (the new-task form's
 * "add the key" link does). UI state only; nothing here talks to the core.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ApiIdInfo } from '../../shared/contract-schemas.js';

export interface ViewState {
  screen: 'workspace' | 'settings';
  /** The API key field to focus when settings open; null = the settings heading. */
  focusKey: ApiIdInfo | null;
  openSettings(focusKey?: ApiIdInfo | null): void;
  openWorkspace(): void;
}

/** Creates the view store. */
export function createViewStore(): StoreApi<ViewState> {
  return createStore<ViewState>((set) => ({
    screen: 'workspace',
    focusKey: null,
    openSettings(focusKey = null) {
      set({ screen: 'settings', focusKey });
    },
    openWorkspace() {
      set({ screen: 'workspace', focusKey: null });
    },
  }));
}
