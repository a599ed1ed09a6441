/** The app's settings screen (not one workspace's): API keys for the agents' gateway. */
import { useEffect, useRef } from 'react';
import type { ApiIdInfo } from '../../shared/contract-schemas.js';
import { useWorkspaces, viewStore } from '../stores/app-stores.js';
import { selectSelected } from '../stores/workspace-store.js';
import { ApiKeysSection } from './ApiKeysSection.js';

export function AppSettings({ focusKey }: { focusKey: ApiIdInfo | null }) {
  const heading = useRef<HTMLHeadingElement>(null);
  const workspace = useWorkspaces(selectSelected);
  useEffect(() => {
    // Moving focus to the new screen tells keyboard and screen-reader users where they are.
    if (focusKey === null) heading.current?.focus();
  }, [focusKey]);
  return (
    <main className="app-settings" aria-labelledby="app-settings-title">
      <div className="app-settings-header">
        <h1 id="app-settings-title" ref={heading} tabIndex={-1}>Settings</h1>
        {workspace && (
          <button type="button" className="button button-secondary" onClick={() => viewStore.getState().openWorkspace()}>
            Back to {workspace.name}
          </button>
        )}
      </div>
      <ApiKeysSection focusKey={focusKey} />
    </main>
  );
}
