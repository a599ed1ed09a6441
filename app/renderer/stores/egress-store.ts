/**
 * Blocked requests waiting for the user, across workspaces: added by `egress:prompt`, removed by
 * `egress:promptSettled` (answered here or elsewhere, expired, gone). The window shows the
 * oldest one as a dialog; `load` fetches what was already waiting when the window opened.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { EgressPromptInfo, EgressPromptSettled } from '../../shared/contract-schemas.js';
import type { VivariumApi } from '../vivarium-api.js';

export interface EgressState {
  /** Waiting prompts, oldest first. */
  prompts: EgressPromptInfo[];
  /** Adds the prompts waiting in a workspace's VM now (on window open, or when a VM starts). */
  load(workspaceId: string): Promise<void>;
  applyPrompt(prompt: EgressPromptInfo): void;
  applySettled(settled: EgressPromptSettled): void;
}

/** Creates the store on an API (the real one, or a fake in tests). */
export function createEgressStore(api: Pick<VivariumApi, 'egress'>): StoreApi<EgressState> {
  return createStore<EgressState>((set, get) => ({
    prompts: [],
    async load(workspaceId) {
      const waiting = await api.egress.prompts({ workspaceId });
      for (const p of waiting) get().applyPrompt(p);
    },
    applyPrompt(prompt) {
      if (get().prompts.some((p) => p.id === prompt.id)) return;
      set({ prompts: [...get().prompts, prompt].sort((a, b) => a.createdAt - b.createdAt) });
    },
    applySettled({ promptId }) {
      set({ prompts: get().prompts.filter((p) => p.id !== promptId) });
    },
  }));
}
