/**
 * One task: command, state, exit code, progress, status line, cancel, and its live output; for
 * an agent whose output is read into steps, the steps beside the raw output; its network use
 * (API calls through the gateway, other requests through the egress proxy).
 */
import { useCallback, useState } from 'react';
import type { TaskSnapshot } from '../../shared/contract-schemas.js';
import { formatDuration, formatTime, taskDuration } from '../format.js';
import { useAction, useNow } from '../use-action.js';
import { vivariumApi } from '../vivarium-api.js';
import { taskViews, type TaskView } from '../steps-model.js';
import { useProfiles } from '../stores/app-stores.js';
import { profileById } from '../stores/profile-store.js';
import { ErrorNotice } from './ErrorNotice.js';
import { ProgressBar } from './ProgressBar.js';
import { TaskGatewayLog } from './TaskGatewayLog.js';
import { TASK_STATE_WORDS } from './TaskList.js';
import { TaskNetworkLog } from './TaskNetworkLog.js';
import { TaskOutput } from './TaskOutput.js';
import { TaskSteps } from './TaskSteps.js';

export function TaskDetail({ task: t }: { task: TaskSnapshot }) {
  const profile = useProfiles((s) => profileById(s.profiles, t.profileId));
  // Until the user picks a view, the default one (taskViews).
  const [chosen, setChosen] = useState<TaskView | null>(null);
  const views = taskViews(profile);
  const view: TaskView = chosen ?? views[0]![0];
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
          {profile && profile.takesPrompt && <span className="task-profile">{profile.name}</span>}
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
        {views.map(([id, label]) => (
          <button key={id} type="button" className="view-switch-button" aria-pressed={view === id} onClick={() => setChosen(id)}>{label}</button>
        ))}
      </div>
      {view === 'steps' && <TaskSteps taskId={t.id} active={active} />}
      {view === 'output' && <TaskOutput taskId={t.id} ended={!active} />}
      {view === 'network' && (
        // A focusable region: the keyboard can scroll it even when nothing inside is focusable.
        <div className="task-network" role="region" aria-label="Network use of this task" tabIndex={0}>
          {profile !== null && profile.apis.length > 0 && (
            <>
              <TaskGatewayLog taskId={t.id} active={active} />
              <h3 className="section-title">Other requests through the network proxy</h3>
            </>
          )}
          <TaskNetworkLog taskId={t.id} />
        </div>
      )}
    </section>
  );
}

/** The percentage to print: 100 once a task that reported progress succeeded; null when unknown. */
function shownPercent(t: TaskSnapshot): number | null {
  if (t.progress.kind === 'none') return null;
  if (t.state === 'succeeded') return 100;
  return t.progress.percent === null ? null : Math.round(t.progress.percent);
}
