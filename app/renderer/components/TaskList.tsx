/** The tasks of a workspace: command, state, progress bar and duration; a listbox to pick one. */
import type { KeyboardEvent } from 'react';
import type { TaskSnapshot, TaskState } from '../../shared/contract-schemas.js';
import { formatDuration, taskDuration } from '../format.js';
import { useNow } from '../use-action.js';
import { ProgressBar } from './ProgressBar.js';

/** Words for each task state. */
export const TASK_STATE_WORDS: Record<TaskState, string> = {
  queued: 'Queued',
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export function TaskList({ tasks, selectedId, onSelect }: { tasks: TaskSnapshot[]; selectedId: string | null; onSelect: (id: string) => void }) {
  const anyRunning = tasks.some((t) => t.state === 'running');
  const now = useNow(1000, anyRunning);
  const onKey = (e: KeyboardEvent<HTMLUListElement>): void => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const i = tasks.findIndex((t) => t.id === selectedId);
    const next = tasks[Math.max(0, Math.min(tasks.length - 1, i + (e.key === 'ArrowDown' ? 1 : -1)))];
    if (next) {
      onSelect(next.id);
      document.getElementById(`task-${next.id}`)?.focus();
    }
  };
  if (tasks.length === 0) return <p className="empty">No tasks yet. Run a command above; it runs in /workspace inside the VM.</p>;
  return (
    <ul className="task-list" role="listbox" aria-label="Tasks" onKeyDown={onKey}>
      {tasks.map((t) => {
        const d = taskDuration(t, now);
        const selected = t.id === selectedId;
        return (
          <li
            key={t.id}
            id={`task-${t.id}`}
            role="option"
            aria-selected={selected}
            tabIndex={selected || (selectedId === null && t === tasks[0]) ? 0 : -1}
            className="task-row"
            data-state={t.state}
            onClick={() => onSelect(t.id)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                onSelect(t.id);
              }
            }}
          >
            <div className="task-row-top">
              <code className="task-command">{t.command}</code>
              <span className="task-duration">{d === null ? '' : formatDuration(d)}</span>
            </div>
            <div className="task-row-bottom">
              <span className={`task-state task-state-${t.state}`}>{TASK_STATE_WORDS[t.state]}{t.exitCode !== null && t.state === 'failed' ? ` (exit ${t.exitCode})` : ''}</span>
              {(t.progress.kind !== 'none' || t.state === 'running') && (
                <ProgressBar progress={t.progress} state={t.state} label={`Progress of ${t.command}`} />
              )}
            </div>
          </li>
        );
      })}
    </ul>
  );
}
