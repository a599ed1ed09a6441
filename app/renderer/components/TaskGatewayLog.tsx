/**
 * A task's API calls through the host gateway (issue 10): time, API, method and endpoint, the
 * gateway's decision, the status the agent got, tokens and bytes. There is no push event for
 * these calls, so the list is re-read every few seconds while the task runs and once when it ends.
 */
import { useEffect, useState } from 'react';
import type { GatewayRecordInfo } from '../../shared/contract-schemas.js';
import { toVivError, type VivError } from '../../shared/errors.js';
import { API_NAMES } from '../agent-words.js';
import { formatBytes } from '../format.js';
import { vivariumApi } from '../vivarium-api.js';
import { ErrorNotice } from './ErrorNotice.js';

/** How often a running task's gateway log is re-read. */
const REFRESH_MS = 3000;

/** Words for the gateway's decisions. */
export const GATEWAY_DECISION_WORDS: Record<GatewayRecordInfo['decision'], string> = {
  allowed: 'Allowed',
  'refused-endpoint': 'Refused: endpoint not allowed',
  'refused-unknown-caller': 'Refused: unknown caller',
  'refused-no-key': 'Refused: no API key',
};

const tokens = (n: number | null): string => (n === null ? '—' : n.toLocaleString('en-US'));

/** The calls as a table; pure, for rendering tests. */
export function GatewayLogTable({ records }: { records: GatewayRecordInfo[] }) {
  return (
    <table className="network-log" data-testid="gateway-log">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">API</th>
          <th scope="col">Call</th>
          <th scope="col">Decision</th>
          <th scope="col" className="num">Status</th>
          <th scope="col" className="num">Tokens in / out</th>
          <th scope="col" className="num">Up</th>
          <th scope="col" className="num">Down</th>
        </tr>
      </thead>
      <tbody>
        {records.map((r, i) => (
          <tr key={`${r.time}-${i}`} data-decision={r.decision}>
            <td className="nowrap">{new Date(r.time).toLocaleTimeString()}</td>
            <td>{API_NAMES[r.api]}</td>
            <td className="mono">{r.method} {r.endpoint}</td>
            <td className={`decision decision-${r.decision === 'allowed' ? 'allowed' : 'blocked-by-policy'}`}>
              {GATEWAY_DECISION_WORDS[r.decision]}{r.error ? ` (${r.error})` : ''}
            </td>
            <td className="num">{r.status ?? '—'}</td>
            <td className="num nowrap">{tokens(r.inputTokens)} / {tokens(r.outputTokens)}</td>
            <td className="num">{formatBytes(r.bytesUp)}</td>
            <td className="num">{formatBytes(r.bytesDown)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The gateway section of a task's network view. */
export function TaskGatewayLog({ taskId, active }: { taskId: string; active: boolean }) {
  const [records, setRecords] = useState<GatewayRecordInfo[] | null>(null);
  const [loadError, setLoadError] = useState<VivError | null>(null);
  useEffect(() => {
    let stopped = false;
    const read = (): void => {
      vivariumApi().gateway.log({ taskId }).then(
        (list) => {
          if (!stopped) {
            setRecords(list);
            setLoadError(null);
          }
        },
        (e: unknown) => {
          if (!stopped) setLoadError(toVivError(e));
        },
      );
    };
    read();
    const timer = active ? setInterval(read, REFRESH_MS) : undefined;
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [taskId, active]);
  return (
    <section className="gateway-log-wrap" aria-labelledby={`gw-title-${taskId}`}>
      <div className="network-log-bar">
        <h3 id={`gw-title-${taskId}`} className="section-title">API calls through the gateway</h3>
        <span className="muted" aria-live="polite">
          {records === null ? 'Loading…' : records.length === 1 ? '1 call' : `${records.length} calls`}
        </span>
      </div>
      {loadError && <ErrorNotice error={loadError} title="Could not read the API call log" />}
      {records !== null && records.length === 0 && <p className="empty">No API calls from this task.</p>}
      {records !== null && records.length > 0 && <GatewayLogTable records={records} />}
    </section>
  );
}
