/**
 * A task's network log: every request it made through the egress proxy (time, host, port,
 * method, decision, reason, bytes up and down), refreshed as `egress:record` events arrive,
 * and exportable as JSON lines (the core's own export, saved as a file).
 */
import { useCallback, useEffect, useState } from 'react';
import type { EgressLog, EgressRecordInfo } from '../../shared/contract-schemas.js';
import { toVivError, type VivError } from '../../shared/errors.js';
import { formatBytes } from '../format.js';
import { useAction } from '../use-action.js';
import { vivariumApi } from '../vivarium-api.js';
import { ErrorNotice } from './ErrorNotice.js';

/** Words for the decisions, as the table shows them. */
export const DECISION_WORDS: Record<EgressRecordInfo['decision'], string> = {
  allowed: 'Allowed',
  'blocked-by-policy': 'Blocked',
  'blocked-private-address': 'Blocked (local address)',
};

/** The log as a table; pure, for rendering tests. */
export function NetworkLogTable({ records }: { records: EgressRecordInfo[] }) {
  return (
    <table className="network-log" data-testid="network-log">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Host</th>
          <th scope="col">Port</th>
          <th scope="col">Method</th>
          <th scope="col">Decision</th>
          <th scope="col">Reason</th>
          <th scope="col" className="num">Up</th>
          <th scope="col" className="num">Down</th>
        </tr>
      </thead>
      <tbody>
        {records.map((r, i) => (
          <tr key={`${r.time}-${i}`} data-decision={r.decision}>
            <td className="nowrap">{new Date(r.time).toLocaleTimeString()}</td>
            <td className="mono">{r.host}</td>
            <td className="num">{r.port}</td>
            <td>{r.method ?? 'CONNECT'}</td>
            <td className={`decision decision-${r.decision}`}>{DECISION_WORDS[r.decision]}</td>
            <td>{r.error ? `${r.reason} (${r.error})` : r.reason}</td>
            <td className="num">{formatBytes(r.bytesUp)}</td>
            <td className="num">{formatBytes(r.bytesDown)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function TaskNetworkLog({ taskId }: { taskId: string }) {
  const [log, setLog] = useState<EgressLog | null>(null);
  const [loadError, setLoadError] = useState<VivError | null>(null);
  const reload = useCallback(() => {
    vivariumApi().egress.log({ taskId }).then((l) => { setLog(l); setLoadError(null); }, (e: unknown) => setLoadError(toVivError(e)));
  }, [taskId]);
  useEffect(() => {
    reload();
    return vivariumApi().on('egress:record', (r) => {
      if (r.taskId === taskId) reload();
    });
  }, [taskId, reload]);
  const exportLog = useAction(useCallback(async () => {
    const { jsonLines } = await vivariumApi().egress.export({ taskId });
    const url = URL.createObjectURL(new Blob([jsonLines], { type: 'application/x-ndjson' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `task-${taskId}-network.jsonl`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }, [taskId]));
  const records = log?.records ?? [];
  return (
    <div className="network-log-wrap" aria-label="Network log">
      <div className="network-log-bar">
        <span className="muted" aria-live="polite">
          {log === null ? 'Loading…' : records.length === 1 ? '1 request' : `${records.length} requests`}
          {log?.truncated ? ' (the log is full; later requests were not kept)' : ''}
        </span>
        <button type="button" className="button button-secondary" disabled={records.length === 0 || exportLog.busy} onClick={() => void exportLog.run()}>
          Export JSON lines
        </button>
      </div>
      {loadError && <ErrorNotice error={loadError} title="Could not read the network log" />}
      {exportLog.error && <ErrorNotice error={exportLog.error} title="Could not export the network log" onDismiss={exportLog.clearError} />}
      {log !== null && records.length === 0 ? (
        <p className="empty">No network requests from this task.</p>
      ) : (
        records.length > 0 && <NetworkLogTable records={records} />
      )}
    </div>
  );
}
