/** The workspace's VM: state in words with boot time or failure reason, and start/stop. */
import { useCallback } from 'react';
import type { BootProgress, WorkspaceSnapshot } from '../../shared/contract-schemas.js';

const PHASE_WORDS: Record<BootProgress['phase'], string> = {
  preparing: 'preparing keys and disk',
  helper: 'starting the hypervisor',
  booting: 'booting Linux',
  connecting: 'connecting to the guest',
  ready: 'ready',
};
import { formatDuration } from '../format.js';
import { useAction, useNow } from '../use-action.js';
import { vivariumApi } from '../vivarium-api.js';
import { useWorkspaces, workspaceStore } from '../stores/app-stores.js';
import { ErrorNotice } from './ErrorNotice.js';
import { VM_STATE_WORDS, VmStateDot } from './VmStateDot.js';

export function VmBar({ workspace: ws }: { workspace: WorkspaceSnapshot }) {
  const start = useAction(useCallback(() => {
    workspaceStore.getState().setStartError(ws.id, null);
    return vivariumApi().vm.start({ workspaceId: ws.id });
  }, [ws.id]));
  const autoStartError = useWorkspaces((s) => s.startErrors[ws.id] ?? null);
  const stop = useAction(useCallback((force: boolean) => vivariumApi().vm.stop({ workspaceId: ws.id, force }), [ws.id]));
  const boot = useWorkspaces((s) => s.bootProgress[ws.id] ?? null);
  const { state, bootMs, reason } = ws.vm;
  const now = useNow(500, state === 'starting');
  const canStart = (state === 'stopped' || state === 'failed') && ws.grant !== null;
  let detail = '';
  if (state === 'running' && bootMs !== null) detail = `booted in ${formatDuration(bootMs)}`;
  else if (state === 'starting' && boot && boot.phase !== 'ready') {
    detail = `${PHASE_WORDS[boot.phase]} · ${formatDuration(boot.elapsedMs + Math.max(0, now - boot.receivedAt))}`;
  }
  else if (state === 'stopped' && ws.grant === null) detail = 'access to the folder was revoked';
  else if (reason) detail = reason;
  return (
    <section className="vm-bar" aria-label="Virtual machine">
      <div className="vm-status" data-testid="vm-status" data-state={state} aria-live="polite">
        <VmStateDot state={state} decorative />
        <span className="vm-state-words">VM {VM_STATE_WORDS[state].toLowerCase()}</span>
        {detail && <span className="vm-detail">· {detail}</span>}
      </div>
      <div className="vm-actions">
        {canStart && (
          <button type="button" className="button button-secondary" disabled={start.busy} onClick={() => void start.run()}>
            {state === 'failed' ? 'Restart VM' : 'Start VM'}
          </button>
        )}
        {(state === 'running' || state === 'starting') && (
          <button type="button" className="button button-secondary" disabled={stop.busy} onClick={() => void stop.run(false)}>
            Stop VM
          </button>
        )}
        {state === 'stopping' && (
          <button type="button" className="button button-secondary" disabled={stop.busy} onClick={() => void stop.run(true)}>
            Force stop
          </button>
        )}
      </div>
      {start.error && <ErrorNotice error={start.error} title="Could not start the VM" onDismiss={start.clearError} />}
      {!start.error && autoStartError && (
        <ErrorNotice error={autoStartError} title="Could not start the VM" onDismiss={() => workspaceStore.getState().setStartError(ws.id, null)} />
      )}
      {stop.error && <ErrorNotice error={stop.error} title="Could not stop the VM" onDismiss={stop.clearError} />}
    </section>
  );
}
