/**
 * "New workspace": pick a folder (a path field here; Electron's native picker comes with the
 * shell), inspect it with the core, show the consent details, and grant it. The workspace is
 * created only by the explicit "Share folder" press, with the second confirmation when asked.
 */
import { useState } from 'react';
import type { ConsentInspection, ShareMode } from '../../shared/contract-schemas.js';
import { toVivError, type VivError } from '../../shared/errors.js';
import { vivariumApi } from '../vivarium-api.js';
import { viewStore, workspaceStore } from '../stores/app-stores.js';
import { ConsentDetails } from './ConsentDetails.js';
import { ErrorNotice } from './ErrorNotice.js';
import { Modal } from './Modal.js';

export function NewWorkspaceDialog({ onClose }: { onClose: () => void }) {
  const [path, setPath] = useState('');
  const [inspection, setInspection] = useState<ConsentInspection | null>(null);
  const [mode, setMode] = useState<ShareMode>('ro');
  const [confirmed, setConfirmed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<VivError | null>(null);

  const [pickerMissing, setPickerMissing] = useState(false);

  const inspect = async (folder = path): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      setInspection(await vivariumApi().consent.inspect({ path: folder.trim() }));
      setConfirmed(false);
    } catch (e) {
      setError(toVivError(e));
    } finally {
      setBusy(false);
    }
  };

  /** The system folder picker (desktop app); in the browser harness the path field is all there is. */
  const choose = async (): Promise<void> => {
    setError(null);
    try {
      const { path: picked } = await vivariumApi().folder.pick();
      if (picked === null) return;
      setPath(picked);
      setInspection(null);
      await inspect(picked);
    } catch (e) {
      const err = toVivError(e);
      if (err.code === 'unsupported') setPickerMissing(true);
      else setError(err);
    }
  };

  const share = async (): Promise<void> => {
    if (!inspection) return;
    setBusy(true);
    setError(null);
    try {
      const api = vivariumApi();
      const ws = await api.workspace.create({ path: inspection.requestedPath, mode, confirmWarnings: confirmed });
      workspaceStore.getState().applyReply(ws);
      workspaceStore.getState().select(ws.id);
      viewStore.getState().openWorkspace();
      onClose();
      // Sharing a folder is asking to work in it: boot its VM now. Failures show in the VM bar.
      api.vm.start({ workspaceId: ws.id }).catch((e: unknown) => workspaceStore.getState().setStartError(ws.id, toVivError(e)));
    } catch (e) {
      setError(toVivError(e));
      setBusy(false);
    }
  };

  const canShare = inspection !== null && inspection.refusal === null && (!inspection.needsConfirmation || confirmed) && !busy;

  return (
    <Modal title="Share a folder with a new workspace" onClose={onClose} className="modal-wide">
      <form
        className="path-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (path.trim() && !busy) void inspect();
        }}
      >
        <label htmlFor="folder-path">Folder</label>
        <div className="input-row">
          <input
            id="folder-path"
            className="input input-mono"
            value={path}
            onChange={(e) => {
              setPath(e.target.value);
              setInspection(null);
            }}
            placeholder="/home/you/projects/site"
            autoFocus
            spellCheck={false}
            autoComplete="off"
          />
          {!pickerMissing && (
            <button type="button" className="button button-secondary" disabled={busy} onClick={() => void choose()}>
              Choose…
            </button>
          )}
          <button type="submit" className="button button-secondary" disabled={!path.trim() || busy}>
            {busy && !inspection ? 'Checking…' : 'Check folder'}
          </button>
        </div>
      </form>

      {error && <ErrorNotice error={error} title={inspection ? 'Could not share the folder' : 'Could not check the folder'} onDismiss={() => setError(null)} />}

      {inspection && (
        <ConsentDetails inspection={inspection} mode={mode} onModeChange={setMode} confirmed={confirmed} onConfirmedChange={setConfirmed} />
      )}

      <div className="modal-actions">
        <button type="button" className="button button-secondary" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="button button-primary" disabled={!canShare} onClick={() => void share()}>
          {busy && inspection ? 'Sharing…' : 'Share folder'}
        </button>
      </div>
    </Modal>
  );
}
