/** One task: command, state, exit code, progress, status line, cancel, and its live output. */
import { useCallback, useState } from 'react';
import type { TaskSnapshot } from '../../shared/contract-schemas.js';
import { formatDuration, formatTime, taskDuration } from '../format.js';
import { useAction, useNow } from '../use-action.js';
import { vivariumApi } from '../vivarium-api.js';
import { ErrorNotice } from './ErrorNotice.js';
import { ProgressBar } from './ProgressBar.js';
import { TASK_STATE_WORDS } from './TaskList.js';
import { TaskNetworkLog } from './TaskNetworkLog.js';
import { TaskOutput } from './TaskOutput.js';

export function TaskDetail({ task: t }: { task: TaskSnapshot }) {
  const [view, setView] = useState<'output' | 'network'>('output');
  const cancel = useAction(useCallback(() => vivariumApi().task.cancel({ taskId: t.id }), [t.id]));
  const active = t.state === 'running' || t.state === 'queued';
  const now = useNow(1000, t.state === 'running');
  const d = taskDuration(t, now);
  const facts: string[] = [`started ${formatTime(t.startedAt ?? t.createdAt)}`];
  if (d !== null) facts.push(formatDuration(d));
  if (t.exitCode !== null) facts.push(`exit code ${t.exitCode}`);
  if (t.signal) facts.push(`signal ${t.signal}`);
  return (
    <section className="task-detail" aria-label="Task detail" data-testid="task-detail" data-state={t.state}>
      <header className="task-detail-header">
        <div className="task-detail-title">
          <code className="task-command">{t.command}</code>
          <div className="task-facts">
            <span className={`task-state task-state-${t.state}`} data-testid="task-state">{TASK_STATE_WORDS[t.state]}</span>
            <span className="muted">{facts.join(' · ')}</span>
          </div>
        </div>
        {active && (
          <button type="button" className="button button-secondary" disabled={cancel.busy} onClick={() => void cancel.run()}>
            Cancel task
          </button>
        )}
      </header>
      {(t.progress.kind !== 'none' || t.state === 'running') && (
        <div className="task-progress-line">
          <ProgressBar progress={t.progress} state={t.state} label="Task progress" />
          <span className="task-percent" data-testid="task-percent">
            {shownPercent(t) === null ? '' : `${shownPercent(t)} %`}
          </span>
        </div>
      )}
      {t.statusLine && <p className="status-line" data-testid="status-line">{t.statusLine}</p>}
      {t.reason && <p className={`task-reason task-reason-${t.state}`}>{t.reason}</p>}
      {cancel.error && <ErrorNotice error={cancel.error} title="Could not cancel the task" onDismiss={cancel.clearError} />}
      <div className="view-switch" role="group" aria-label="Show">
        <button type="button" className="view-switch-button" aria-pressed={view === 'output'} onClick={() => setView('output')}>Output</button>
        <button type="button" className="view-switch-button" aria-pressed={view === 'network'} onClick={() => setView('network')}>Network</button>
      </div>
      {view === 'output' ? <TaskOutput taskId={t.id} ended={!active} /> : <TaskNetworkLog taskId={t.id} />}
    </section>
  );
}

/** The percentage to print: 100 once a task that reported progress succeeded; null when unknown. */
function shownPercent(t: TaskSnapshot): number | null {
  if (t.progress.kind === 'none') return null;
  if (t.state === 'succeeded') return 100;
  return t.progress.percent === null ? null : Math.round(t.progress.percent);
}
