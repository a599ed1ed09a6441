/** The workspaces sidebar: one row per workspace with its VM state, "New workspace" and "Settings". */
import type { WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { useView, useWorkspaces, viewStore } from '../stores/app-stores.js';
import { VmStateDot } from './VmStateDot.js';
import { shortenPath } from '../format.js';

export function Sidebar({ onNewWorkspace }: { onNewWorkspace: () => void }) {
  const workspaces = useWorkspaces((s) => s.workspaces);
  const selectedId = useWorkspaces((s) => s.selectedId);
  const select = useWorkspaces((s) => s.select);
  const screen = useView((s) => s.screen);
  return (
    <nav className="sidebar" aria-label="Workspaces">
      <div className="sidebar-header">
        <span className="app-name">Vivarium</span>
      </div>
      <h2 className="sidebar-section">Workspaces</h2>
      {workspaces.length > 0 && (
        <ul className="workspace-list">
          {workspaces.map((w: WorkspaceSnapshot) => (
            <li key={w.id}>
              <button
                type="button"
                className="workspace-row"
                aria-current={screen === 'workspace' && w.id === selectedId ? 'page' : undefined}
                onClick={() => {
                  select(w.id);
                  viewStore.getState().openWorkspace();
                }}
                title={w.grant?.canonicalPath ?? 'Access revoked'}
              >
                <VmStateDot state={w.vm.state} />
                <span className="workspace-row-text">
                  <span className="workspace-row-name">{w.name}</span>
                  <span className="workspace-row-path">{w.grant ? shortenPath(w.grant.canonicalPath, 32) : 'Access revoked'}</span>
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {workspaces.length === 0 && <p className="sidebar-empty">No workspaces yet.</p>}
      <div className="sidebar-footer">
        <button type="button" className="button button-secondary button-block" onClick={onNewWorkspace}>
          <span aria-hidden="true" className="plus">+</span> New workspace
        </button>
        <button type="button" className="button button-quiet button-block" aria-current={screen === 'settings' ? 'page' : undefined}
          onClick={() => viewStore.getState().openSettings()}>
          Settings
        </button>
      </div>
    </nav>
  );
}
