/** Runs a user-triggered async action with a busy flag and a VivError for the error notice. */
import { useCallback, useEffect, useState } from 'react';
import { toVivError, type VivError } from '../shared/errors.js';

/** The state of one action button: `run` never rejects; failures land in `error`. */
export interface ActionState<A extends unknown[]> {
  run: (...args: A) => Promise<void>;
  busy: boolean;
  error: VivError | null;
  clearError: () => void;
}

export function useAction<A extends unknown[]>(fn: (...args: A) => Promise<unknown>): ActionState<A> {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<VivError | null>(null);
  const run = useCallback(
    async (...args: A) => {
      setBusy(true);
      setError(null);
      try {
        await fn(...args);
      } catch (e) {
        setError(toVivError(e));
      } finally {
        setBusy(false);
      }
    },
    [fn],
  );
  return { run, busy, error, clearError: useCallback(() => setError(null), []) };
}

/** The current time, refreshed every `ms` while `active` (for live durations). */
export function useNow(ms: number, active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useIntervalEffect(() => setNow(Date.now()), ms, active);
  return now;
}

function useIntervalEffect(tick: () => void, ms: number, active: boolean): void {
  useEffect(() => {
    if (!active) return;
    tick();
    const t = setInterval(tick, ms);
    return () => clearInterval(t);
  }, [ms, active]);
}
