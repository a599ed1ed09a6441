/**
 * The status of the user's API keys (stored in the app, from the environment, or missing) as a
 * snapshot loaded through the API; `store` and `clear` replace one entry with the core's reply.
 * The key itself never enters this store: it goes from the settings form straight to `keys:set`.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ApiIdInfo, ApiKeyStatus } from '../../shared/contract-schemas.js';
import { toVivError, type VivError } from '../../shared/errors.js';
import type { VivariumApi } from '../vivarium-api.js';

export interface ApiKeyState {
  statuses: ApiKeyStatus[];
  loaded: boolean;
  loadError: VivError | null;
  load(): Promise<void>;
  /** Stores (or replaces) a key; rejects with the core's VivError, which the form shows. */
  store(api: ApiIdInfo, key: string): Promise<void>;
  /** Forgets the key stored in the app; rejects with the core's VivError. */
  clear(api: ApiIdInfo): Promise<void>;
}

/** Creates the store on an API (the app passes window.vivarium's; tests pass a fake). */
export function createApiKeyStore(api: Pick<VivariumApi, 'keys'>): StoreApi<ApiKeyState> {
  return createStore<ApiKeyState>((set, get) => {
    const apply = (status: ApiKeyStatus): void => {
      const list = get().statuses;
      const next = list.some((s) => s.api === status.api) ? list.map((s) => (s.api === status.api ? status : s)) : [...list, status];
      set({ statuses: next });
    };
    return {
      statuses: [],
      loaded: false,
      loadError: null,
      async load() {
        try {
          set({ statuses: await api.keys.list(), loaded: true, loadError: null });
        } catch (e) {
          set({ loaded: true, loadError: toVivError(e) });
        }
      },
      async store(id, key) {
        apply(await api.keys.set({ api: id, key }));
      },
      async clear(id) {
        apply(await api.keys.clear({ api: id }));
      },
    };
  });
}

/** The status of one API's key, or null while unknown (not loaded, or the core failed to say). */
export function keyStatusFor(statuses: readonly ApiKeyStatus[], api: ApiIdInfo): ApiKeyStatus | null {
  return statuses.find((s) => s.api === api) ?? null;
}
