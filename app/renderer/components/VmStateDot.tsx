/** A coloured dot plus hidden words for a VM state (colour is never the only signal). */
import type { VmState } from '../../shared/contract-schemas.js';

/** Words for each VM state, shared by the sidebar and the VM bar. */
export const VM_STATE_WORDS: Record<VmState, string> = {
  stopped: 'Stopped',
  starting: 'Starting…',
  running: 'Running',
  stopping: 'Stopping…',
  failed: 'Failed',
};

/** `decorative` when words beside it already say the state (no duplicate for screen readers). */
export function VmStateDot({ state, decorative = false }: { state: VmState; decorative?: boolean }) {
  if (decorative) return <span className={`state-dot state-dot-${state}`} aria-hidden="true" />;
  return (
    <span className={`state-dot state-dot-${state}`}>
      <span className="visually-hidden">VM {VM_STATE_WORDS[state]}</span>
    </span>
  );
}
