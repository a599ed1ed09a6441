/** A thin determinate/indeterminate bar for task progress (OSC 9;4). */
import type { TaskProgress, TaskState } from '../../shared/contract-schemas.js';

/** Renders nothing useful for tasks that never reported progress; a full bar once succeeded. */
export function ProgressBar({ progress, state, label }: { progress: TaskProgress; state: TaskState; label: string }) {
  const done = state === 'succeeded' && progress.kind !== 'none';
  const percent = done ? 100 : progress.percent;
  const indeterminate = !done && (progress.kind === 'indeterminate' || (state === 'running' && percent === null));
  const tone = progress.kind === 'error' || state === 'failed' ? 'bad' : progress.kind === 'paused' ? 'paused' : 'ok';
  return (
    <div
      className={`progress progress-${tone}${indeterminate ? ' progress-indeterminate' : ''}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={indeterminate || percent === null ? undefined : Math.round(percent)}
      data-percent={percent === null ? '' : String(Math.round(percent))}
    >
      <div className="progress-fill" style={{ width: indeterminate ? undefined : `${percent ?? 0}%` }} />
    </div>
  );
}
