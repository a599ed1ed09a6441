/** VM size (CPUs, memory) and whether the VM keeps its state, for the next VM start; discarding saved state. */
import { useCallback, useState } from 'react';
import type { WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { useAction } from '../use-action.js';
import { vivariumApi } from '../vivarium-api.js';
import { ErrorNotice } from './ErrorNotice.js';

export function SettingsTab({ workspace: ws }: { workspace: WorkspaceSnapshot }) {
  const [cpus, setCpus] = useState(String(ws.settings.cpus));
  const [memory, setMemory] = useState(String(ws.settings.memoryMiB));
  const [keepState, setKeepState] = useState(ws.settings.keepState);
  const [saved, setSaved] = useState(false);
  const [discarded, setDiscarded] = useState<string | null>(null);
  const save = useAction(useCallback(async (c: number, m: number, k: boolean) => {
    await vivariumApi().settings.update({ workspaceId: ws.id, cpus: c, memoryMiB: m, keepState: k });
    setSaved(true);
  }, [ws.id]));
  const discard = useAction(useCallback(async () => {
    const r = await vivariumApi().settings.discardState({ workspaceId: ws.id });
    setDiscarded(r.discarded ? 'Saved state discarded. The next start begins from a clean image.' : 'There was no saved state to discard.');
  }, [ws.id]));
  const c = Number(cpus);
  const m = Number(memory);
  const valid = Number.isInteger(c) && c >= 1 && c <= 64 && Number.isInteger(m) && m >= 128 && m <= 65536;
  const changed = c !== ws.settings.cpus || m !== ws.settings.memoryMiB || keepState !== ws.settings.keepState;
  const vmUp = ws.vm.state === 'running' || ws.vm.state === 'starting';
  const vmStopped = ws.vm.state === 'stopped' || ws.vm.state === 'failed';
  return (
    <form
      className="settings"
      aria-labelledby="settings-title"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid && changed) void save.run(c, m, keepState);
      }}
    >
      <div>
        <h2 id="settings-title" className="section-title">Virtual machine size</h2>
        <p className="hint section-hint">What this workspace's VM gets from your computer. Tasks share it.</p>
      </div>
      <div className="field">
        <label htmlFor="set-cpus">Processors</label>
        <input id="set-cpus" className="input input-number" type="number" min={1} max={64} step={1} value={cpus}
          onChange={(e) => { setCpus(e.target.value); setSaved(false); }} aria-describedby="set-cpus-hint" />
        <span id="set-cpus-hint" className="hint">Virtual CPUs, 1 to 64.</span>
      </div>
      <div className="field">
        <label htmlFor="set-memory">Memory (MiB)</label>
        <input id="set-memory" className="input input-number" type="number" min={128} max={65536} step={128} value={memory}
          onChange={(e) => { setMemory(e.target.value); setSaved(false); }} aria-describedby="set-memory-hint" />
        <span id="set-memory-hint" className="hint">128 to 65,536 MiB.</span>
      </div>
      <div>
        <label className="confirm-check">
          <input type="checkbox" checked={keepState} aria-describedby="set-keep-state-hint"
            onChange={(e) => { setKeepState(e.target.checked); setSaved(false); }} />
          Keep the VM's state
        </label>
        <p id="set-keep-state-hint" className="hint section-hint">
          Installed packages and files outside /workspace survive VM restarts, kept on a disk that takes space on this
          computer (up to 16 GiB). Only for agent VMs (the standard image); applies at the next VM start.
        </p>
      </div>
      {!valid && <p className="field-error" role="alert">Use whole numbers: 1 to 64 processors, 128 to 65,536 MiB of memory.</p>}
      <div className="settings-actions">
        <button type="submit" className="button button-primary" disabled={!valid || !changed || save.busy}>
          Save
        </button>
        <span className="hint" aria-live="polite">
          {saved && !changed ? (vmUp ? 'Saved. Stop and start the VM to apply.' : 'Saved. Applies when the VM starts.') : vmUp ? 'Changes apply at the next VM start.' : ''}
        </span>
      </div>
      {save.error && <ErrorNotice error={save.error} title="Could not save the settings" onDismiss={save.clearError} />}
      <div className="settings-actions">
        {vmStopped ? (
          <button type="button" className="button button-secondary" disabled={discard.busy}
            onClick={() => { setDiscarded(null); void discard.run(); }}>
            Discard saved state
          </button>
        ) : (
          <span className="hint">Stop the VM to discard its saved state.</span>
        )}
        {discarded && <span className="hint" aria-live="polite">{discarded}</span>}
      </div>
      {discard.error && <ErrorNotice error={discard.error} title="Could not discard the saved state" onDismiss={discard.clearError} />}
    </form>
  );
}
