/** One workspace: its folder grant, its VM, and the Tasks / Terminal / Settings tabs. */
import { useCallback, useState, type KeyboardEvent } from 'react';
import type { WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { formatTime } from '../format.js';
import { useAction } from '../use-action.js';
import { vivariumApi } from '../vivarium-api.js';
import { ErrorNotice } from './ErrorNotice.js';
import { NetworkTab } from './NetworkTab.js';
import { SettingsTab } from './SettingsTab.js';
import { TasksTab } from './TasksTab.js';
import { TerminalTab } from './TerminalTab.js';
import { VmBar } from './VmBar.js';

const TABS = [
  { id: 'tasks', label: 'Tasks' },
  { id: 'terminal', label: 'Terminal' },
  { id: 'network', label: 'Network' },
  { id: 'settings', label: 'Settings' },
] as const;
type TabId = (typeof TABS)[number]['id'];

export function WorkspaceView({ workspace: ws }: { workspace: WorkspaceSnapshot }) {
  const [tab, setTab] = useState<TabId>('tasks');
  const [confirmRevoke, setConfirmRevoke] = useState(false);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const remove = useAction(useCallback(() => vivariumApi().workspace.remove({ workspaceId: ws.id }), [ws.id]));
  const revoke = useAction(useCallback(async () => {
    await vivariumApi().grant.revoke({ workspaceId: ws.id });
    setConfirmRevoke(false);
  }, [ws.id]));

  const onTabKey = (e: KeyboardEvent<HTMLDivElement>): void => {
    const i = TABS.findIndex((t) => t.id === tab);
    let next = i;
    if (e.key === 'ArrowRight') next = (i + 1) % TABS.length;
    else if (e.key === 'ArrowLeft') next = (i + TABS.length - 1) % TABS.length;
    else return;
    e.preventDefault();
    setTab(TABS[next]!.id);
    document.getElementById(`tab-${TABS[next]!.id}`)?.focus();
  };

  return (
    <main className="workspace" aria-labelledby="workspace-title">
      <header className="workspace-header">
        <div className="workspace-heading">
          <h1 id="workspace-title">{ws.name}</h1>
          {ws.grant ? (
            <div className="grant-line" data-testid="grant">
              <code className="path">{ws.grant.canonicalPath}</code>
              <span className={`badge badge-${ws.grant.mode}`}>{ws.grant.mode === 'ro' ? 'Read-only' : 'Read and write'}</span>
              <span className="muted">shared {formatTime(ws.grant.createdAt)}</span>
            </div>
          ) : (
            <div className="grant-line" data-testid="grant">
              <span className="badge badge-revoked">Access revoked</span>
              <span className="muted">The VM cannot see any folder. Create a new workspace to share one again.</span>
            </div>
          )}
        </div>
        {ws.grant && !confirmRevoke && (
          <button type="button" className="button button-danger-quiet" onClick={() => setConfirmRevoke(true)}>
            Revoke access…
          </button>
        )}
        {ws.grant && confirmRevoke && (
          <div className="confirm-inline" role="group" aria-label="Confirm revoking access">
            <span>Stop the VM and cancel its tasks?</span>
            <button type="button" className="button button-secondary" onClick={() => setConfirmRevoke(false)}>
              Keep access
            </button>
            <button type="button" className="button button-danger" disabled={revoke.busy} onClick={() => void revoke.run()}>
              Revoke
            </button>
          </div>
        )}
        {!ws.grant && !confirmRemove && (
          <button type="button" className="button button-secondary" onClick={() => setConfirmRemove(true)}>
            Remove workspace…
          </button>
        )}
        {!ws.grant && confirmRemove && (
          <div className="confirm-inline" role="group" aria-label="Confirm removing the workspace">
            <span>Forget this workspace and its task history?</span>
            <button type="button" className="button button-secondary" onClick={() => setConfirmRemove(false)}>
              Keep it
            </button>
            <button type="button" className="button button-danger" disabled={remove.busy} onClick={() => void remove.run()}>
              Remove
            </button>
          </div>
        )}
      </header>
      {remove.error && <ErrorNotice error={remove.error} title="Could not remove the workspace" onDismiss={remove.clearError} />}
      {revoke.error && <ErrorNotice error={revoke.error} title="Could not revoke access" onDismiss={revoke.clearError} />}
      <VmBar workspace={ws} />

      <div className="tabs" role="tablist" aria-label="Workspace sections" onKeyDown={onTabKey}>
        {TABS.map((t) => (
          <button
            key={t.id}
            id={`tab-${t.id}`}
            type="button"
            role="tab"
            className="tab"
            aria-selected={tab === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={tab === t.id ? 0 : -1}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div className="tab-panel" role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === 'tasks' && <TasksTab workspace={ws} />}
        {tab === 'terminal' && <TerminalTab key={ws.id} workspace={ws} />}
        {tab === 'network' && <NetworkTab key={ws.id} workspace={ws} />}
        {tab === 'settings' && <SettingsTab key={ws.id} workspace={ws} />}
      </div>
    </main>
  );
}
