/** The Tasks tab: new-task form and list on the left, the selected task on the right. */
import { useEffect } from 'react';
import type { TaskSnapshot, WorkspaceSnapshot } from '../../shared/contract-schemas.js';
import { taskStore, useTasks } from '../stores/app-stores.js';
import { ErrorNotice } from './ErrorNotice.js';
import { NewTaskForm } from './NewTaskForm.js';
import { TaskDetail } from './TaskDetail.js';
import { TaskList } from './TaskList.js';

const NONE: TaskSnapshot[] = [];

export function TasksTab({ workspace: ws }: { workspace: WorkspaceSnapshot }) {
  const tasks = useTasks((s) => s.byWorkspace[ws.id] ?? NONE);
  const loadError = useTasks((s) => s.loadErrors[ws.id] ?? null);
  const chosen = useTasks((s) => s.selectedByWorkspace[ws.id] ?? null);
  useEffect(() => {
    void taskStore.getState().load(ws.id);
  }, [ws.id]);
  const selected = tasks.find((t) => t.id === chosen) ?? tasks[0] ?? null;
  return (
    <div className="tasks-tab">
      <div className="tasks-left">
        <NewTaskForm workspace={ws} />
        {loadError && <ErrorNotice error={loadError} title="Could not load the tasks" />}
        <TaskList tasks={tasks} selectedId={selected?.id ?? null} onSelect={(id) => taskStore.getState().select(ws.id, id)} />
      </div>
      <div className="tasks-right">
        {selected ? (
          <TaskDetail key={selected.id} task={selected} />
        ) : (
          <p className="empty empty-panel">The output of a task shows here while it runs.</p>
        )}
      </div>
    </div>
  );
}
