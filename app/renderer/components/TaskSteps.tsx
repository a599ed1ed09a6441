/**
 * An agent task's steps: the assistant's text, each tool use with its one-line summary and its
 * result (collapsible), notices, and the final result with turns, cost and tokens. Loads
 * `task:steps`, then follows `task:step` events; everything is shown as text, never HTML.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { TaskStepRecord } from '../../shared/contract-schemas.js';
import { toVivError, type VivError } from '../../shared/errors.js';
import { formatDuration } from '../format.js';
import { mergeSteps, resultFacts, stepItems, type StepItem } from '../steps-model.js';
import { vivariumApi } from '../vivarium-api.js';
import { ErrorNotice } from './ErrorNotice.js';

/** The steps as a list; pure, for rendering tests. `active` marks tool uses still waiting for a result. */
export function StepList({ items, active }: { items: StepItem[]; active: boolean }) {
  return (
    <ol className="steps" data-testid="task-steps">
      {items.map((item) => (
        <li key={item.index} className={`step step-row-${item.type}`} data-kind={item.type}>
          <StepRow item={item} active={active} />
        </li>
      ))}
    </ol>
  );
}

function StepRow({ item, active }: { item: StepItem; active: boolean }) {
  switch (item.type) {
    case 'session':
      return <p className="step-meta">Agent started{item.model ? ` · model ${item.model}` : ''}{item.tools > 0 ? ` · ${item.tools} tools available` : ''}</p>;
    case 'text':
      return <p className="step-text">{item.text}</p>;
    case 'tool': {
      const state = item.result === null ? (active ? 'running' : 'no result') : item.result.isError ? 'error' : 'done';
      return (
        <details className="step-tool-details">
          <summary>
            <span className="step-tool-name">{item.name}</span>
            <span className="step-tool-summary">{summaryDetail(item.name, item.summary)}</span>
            <span className={`step-badge step-badge-${state.replace(' ', '-')}`}>{state === 'running' ? 'running…' : state}</span>
          </summary>
          {item.result === null ? (
            <p className="step-meta">{active ? 'Waiting for the result.' : 'No result was reported.'}</p>
          ) : (
            <pre className={`step-result${item.result.isError ? ' step-result-error' : ''}`} aria-label={`Result of ${item.name}`}>
              {item.result.text || '(empty result)'}
            </pre>
          )}
        </details>
      );
    }
    case 'orphan-result':
      return (
        <details className="step-tool-details">
          <summary>
            <span className="step-tool-name">{item.toolName ?? 'Tool'} result</span>
            <span className={`step-badge step-badge-${item.isError ? 'error' : 'done'}`}>{item.isError ? 'error' : 'done'}</span>
          </summary>
          <pre className={`step-result${item.isError ? ' step-result-error' : ''}`}>{item.text || '(empty result)'}</pre>
        </details>
      );
    case 'result': {
      const facts = resultFacts(item.step, formatDuration);
      return (
        <div className={`step-final step-final-${item.step.ok ? 'ok' : 'failed'}`} data-testid="step-final">
          <strong>{item.step.ok ? 'Finished' : 'The agent stopped with an error'}</strong>
          {facts.length > 0 && <span className="step-facts">{facts.join(' · ')}</span>}
          {item.text && <p className="step-text">{item.text}</p>}
        </div>
      );
    }
    case 'notice':
      return <p className="step-notice">{item.text}</p>;
  }
}

/** The summary without the tool name it starts with ("Write: notes.txt" → "notes.txt"). */
function summaryDetail(name: string, summary: string): string {
  return summary.startsWith(`${name}: `) ? summary.slice(name.length + 2) : summary === name ? '' : summary;
}

/** The live steps of one task. */
export function TaskSteps({ taskId, active }: { taskId: string; active: boolean }) {
  const [records, setRecords] = useState<TaskStepRecord[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [loadError, setLoadError] = useState<VivError | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    // Subscribe first, so a step emitted while the load is in flight is not lost.
    const off = vivariumApi().on('task:step', (r) => {
      if (r.taskId === taskId) setRecords((list) => mergeSteps(list, [r]));
    });
    vivariumApi().task.steps({ taskId }).then(
      (list) => {
        setRecords((cur) => mergeSteps(cur, list));
        setLoaded(true);
      },
      (e: unknown) => {
        setLoadError(toVivError(e));
        setLoaded(true);
      },
    );
    return off;
  }, [taskId]);
  // Follow new steps while the reader is at the bottom; leave them alone after they scroll up.
  useLayoutEffect(() => {
    if (stick.current && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [records]);
  const items = stepItems(records);
  return (
    // A focusable region: the keyboard can scroll it even when no step is focusable.
    <div className="steps-wrap" ref={box} role="region" aria-label="Agent steps" tabIndex={0} onScroll={(e) => {
      const el = e.currentTarget;
      stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    }}>
      {loadError && <ErrorNotice error={loadError} title="Could not read the task's steps" />}
      {items.length > 0 && <StepList items={items} active={active} />}
      {loaded && !loadError && items.length === 0 && (
        <p className="empty">{active ? 'Waiting for the agent\u2019s first step…' : 'This task reported no steps. Its output is under Output.'}</p>
      )}
      <span className="visually-hidden" aria-live="polite">{items.length === 1 ? '1 step' : `${items.length} steps`}</span>
    </div>
  );
}
