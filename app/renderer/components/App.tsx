/** The window: workspaces sidebar, the selected workspace, and the new-workspace dialog. */
import { useEffect, useState } from 'react';
import { selectSelected } from '../stores/workspace-store.js';
import { useWorkspaces, workspaceStore } from '../stores/app-stores.js';
import { ErrorNotice } from './ErrorNotice.js';
import { NewWorkspaceDialog } from './NewWorkspaceDialog.js';
import { Sidebar } from './Sidebar.js';
import { WorkspaceView } from './WorkspaceView.js';

export function App() {
  const [adding, setAdding] = useState(false);
  const selected = useWorkspaces(selectSelected);
  const loaded = useWorkspaces((s) => s.loaded);
  const loadError = useWorkspaces((s) => s.loadError);
  useEffect(() => {
    void workspaceStore.getState().load();
  }, []);
  const title = selected ? `${selected.name} — Vivarium` : 'Vivarium';
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
        {selected ? (
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
    </div>
  );
}
