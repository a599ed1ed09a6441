/** The "API keys" settings section: one row per API the core knows, in its order. */
import { useEffect } from 'react';
import type { ApiIdInfo } from '../../shared/contract-schemas.js';
import { apiKeyStore, useApiKeys } from '../stores/app-stores.js';
import { ApiKeyRow } from './ApiKeyRow.js';
import { ErrorNotice } from './ErrorNotice.js';

/** The section: every API the core knows, in its order. */
export function ApiKeysSection({ focusKey }: { focusKey: ApiIdInfo | null }) {
  const statuses = useApiKeys((s) => s.statuses);
  const loaded = useApiKeys((s) => s.loaded);
  const loadError = useApiKeys((s) => s.loadError);
  useEffect(() => {
    void apiKeyStore.getState().load();
  }, []);
  return (
    <section className="settings-section" aria-labelledby="api-keys-title">
      <h2 id="api-keys-title" className="settings-section-title">API keys</h2>
      <p className="hint section-hint">
        Agents reach their APIs only through a gateway on this computer, which adds your key to each allowed request.
        Keys never enter the virtual machine.
      </p>
      {loadError && <ErrorNotice error={loadError} title="Could not read the API key settings" />}
      {!loaded && <p className="muted">Loading…</p>}
      {statuses.map((s) => (
        <ApiKeyRow key={s.api} status={s} autoFocus={focusKey === s.api}
          onStore={(k) => apiKeyStore.getState().store(s.api, k)} onClear={() => apiKeyStore.getState().clear(s.api)} />
      ))}
    </section>
  );
}
