/** The window: workspaces sidebar, the selected workspace, and the new-workspace dialog. */
import { useCallback, useEffect, useState } from 'react';
import { selectSelected } from '../stores/workspace-store.js';
import { egressStore, useEgress, useView, useWorkspaces, workspaceStore } from '../stores/app-stores.js';
import { AppSettings } from './AppSettings.js';
import { EgressPromptDialog } from './EgressPromptDialog.js';
import { ErrorNotice } from './ErrorNotice.js';
import { NewWorkspaceDialog } from './NewWorkspaceDialog.js';
import { Sidebar } from './Sidebar.js';
import { WorkspaceView } from './WorkspaceView.js';

export function App() {
  const [adding, setAdding] = useState(false);
  const selected = useWorkspaces(selectSelected);
  const loaded = useWorkspaces((s) => s.loaded);
  const loadError = useWorkspaces((s) => s.loadError);
  const prompts = useEgress((s) => s.prompts);
  const workspaces = useWorkspaces((s) => s.workspaces);
  const onAnswered = useCallback((promptId: string) => egressStore.getState().applySettled({ workspaceId: '', promptId, outcome: 'closed' }), []);
  useEffect(() => {
    void workspaceStore.getState().load().then(() => {
      for (const w of workspaceStore.getState().workspaces) {
        if (w.vm.state === 'running') void egressStore.getState().load(w.id).catch(() => undefined);
      }
    });
  }, []);
  const screen = useView((s) => s.screen);
  const focusKey = useView((s) => s.focusKey);
  const prompt = prompts[0];
  const title = screen === 'settings' ? 'Settings — Vivarium' : selected ? `${selected.name} — Vivarium` : 'Vivarium';
  useEffect(() => {
    document.title = title;
  }, [title]);
  return (
    <div className="app">
      <Sidebar onNewWorkspace={() => setAdding(true)} />
      <div className="content">
        {loadError && (
          <div className="content-pad">
            <ErrorNotice error={loadError} title="Could not load your workspaces" />
          </div>
        )}
        {screen === 'settings' ? (
          <AppSettings key={focusKey ?? 'settings'} focusKey={focusKey} />
        ) : selected ? (
          <WorkspaceView key={selected.id} workspace={selected} />
        ) : (
          loaded && (
            <main className="welcome" aria-labelledby="welcome-title">
              <h1 id="welcome-title">Run tasks in a VM that sees one folder</h1>
              <p>
                A workspace shares one folder of your choice with a small Linux virtual machine. Tasks and agents run there, see
                only that folder, and have no network unless you allow it.
              </p>
              <button type="button" className="button button-primary" onClick={() => setAdding(true)}>
                Share a folder…
              </button>
            </main>
          )
        )}
      </div>
      {adding && <NewWorkspaceDialog onClose={() => setAdding(false)} />}
      {prompt && !adding && (
        <EgressPromptDialog key={prompt.id} prompt={prompt} workspace={workspaces.find((w) => w.id === prompt.workspaceId)}
          waiting={prompts.length} onAnswered={onAnswered} />
      )}
    </div>
  );
}
