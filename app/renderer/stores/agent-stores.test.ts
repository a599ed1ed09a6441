import { describe, expect, it } from 'vitest';
import type { AgentProfile, ApiKeyStatus } from '../../shared/contract-schemas.js';
import { VivError } from '../../shared/errors.js';
import { createApiKeyStore, keyStatusFor } from './api-key-store.js';
import { createProfileStore, profileById } from './profile-store.js';
import { createViewStore } from './view-store.js';

const status = (api: ApiKeyStatus['api'], source: ApiKeyStatus['source']): ApiKeyStatus => ({
  api, name: api, envVar: `${api.toUpperCase()}_API_KEY`, stored: source === 'app', source,
});

describe('API key store', () => {
  it('loads the statuses and replaces one with the reply to set and clear', async () => {
    const calls: unknown[] = [];
    const s = createApiKeyStore({
      keys: {
        list: async () => [status('anthropic', null), status('openai', 'env')],
        set: async (i: { api: 'anthropic' | 'openai'; key: string }) => { calls.push(['set', i]); return status(i.api, 'app'); },
        clear: async (i: { api: 'anthropic' | 'openai' }) => { calls.push(['clear', i]); return status(i.api, null); },
      },
    } as never);
    await s.getState().load();
    await s.getState().store('anthropic', 'sk-test');
    expect(keyStatusFor(s.getState().statuses, 'anthropic')?.source).toBe('app');
    expect(JSON.stringify(s.getState())).not.toContain('sk-test'); // the key passes through, never kept
    await s.getState().clear('anthropic');
    expect(s.getState().statuses.map((x) => `${x.api}:${x.source}`)).toEqual(['anthropic:null', 'openai:env']);
    expect(calls).toEqual([['set', { api: 'anthropic', key: 'sk-test' }], ['clear', { api: 'anthropic' }]]);
  });

  it('keeps a load failure for the settings to show, and lets a failed store reject for the form', async () => {
    const s = createApiKeyStore({
      keys: {
        list: async () => { throw new VivError('unsupported', 'The app cannot encrypt keys on this system'); },
        set: async () => { throw new VivError('invalidArgument', 'An API key is printable ASCII'); },
      },
    } as never);
    await s.getState().load();
    expect(s.getState().loadError).toMatchObject({ code: 'unsupported' });
    await expect(s.getState().store('openai', 'x y')).rejects.toMatchObject({ code: 'invalidArgument' });
  });
});

describe('profile store', () => {
  it('loads once, even when asked twice at the same time, and retries after a failure', async () => {
    let calls = 0;
    let fail = true;
    const p: AgentProfile = { id: 'shell', name: 'Shell', description: '', takesPrompt: false, hosts: [], image: 'tiny', apis: [], showsSteps: false };
    const s = createProfileStore({ profile: { list: async () => { calls++; if (fail) throw new VivError('internal', 'x'); return [p]; } } } as never);
    await s.getState().load();
    expect(s.getState().loadError).not.toBeNull();
    fail = false;
    await Promise.all([s.getState().load(), s.getState().load()]);
    await s.getState().load();
    expect(calls).toBe(2);
    expect(profileById(s.getState().profiles, null)?.id).toBe('shell');
    expect(profileById(s.getState().profiles, 'codex')).toBeNull();
  });
});

describe('view store', () => {
  it('opens the settings with the key field to focus, and goes back to the workspace', () => {
    const s = createViewStore();
    s.getState().openSettings('openai');
    expect(s.getState()).toMatchObject({ screen: 'settings', focusKey: 'openai' });
    s.getState().openWorkspace();
    expect(s.getState()).toMatchObject({ screen: 'workspace', focusKey: null });
  });
});
