/**
 * Task records on disk: `tasks/<id>/task.json` (the snapshot, written atomically on every
 * state change) beside `tasks/<id>/output.log`. At start-up, tasks that were queued or running
 * when the previous process died are marked failed with that reason.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { taskSnapshotSchema, type TaskSnapshot } from '../../shared/contract-schemas.js';
import { writeFileAtomic } from '../state/atomic-file.js';
import { STEPS_FILE } from './task-steps.js';

/** Reason given to tasks found unfinished at start-up. */
export const DIED_WHILE_RUNNING = 'Vivarium exited while this task was running, so its outcome is unknown.';
export const DIED_WHILE_QUEUED = 'Vivarium exited before this task started.';

/** Reads and writes the task records of one data folder. */
export class TaskStore {
  constructor(readonly tasksDir: string) {}

  /** The folder of one task. */
  dir(taskId: string): string {
    return join(this.tasksDir, taskId);
  }

  /** The step log of one task (agents only). */
  stepsPath(taskId: string): string {
    return join(this.tasksDir, taskId, STEPS_FILE);
  }

  /** The output log of one task. */
  logPath(taskId: string): string {
    return join(this.tasksDir, taskId, 'output.log');
  }

  /** Writes a task's record (creating its folder on first write). */
  async save(task: TaskSnapshot): Promise<void> {
    await mkdir(this.dir(task.id), { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(this.dir(task.id), 'task.json'), `${JSON.stringify(task)}\n`);
  }

  /**
   * Loads every record, fixing up unfinished ones (saved back). Unreadable records are skipped
   * and named in `problems`, never fatal.
   */
  async loadAll(now = Date.now()): Promise<{ tasks: TaskSnapshot[]; problems: string[] }> {
    await mkdir(this.tasksDir, { recursive: true, mode: 0o700 });
    const tasks: TaskSnapshot[] = [];
    const problems: string[] = [];
    for (const id of await readdir(this.tasksDir)) {
      const file = join(this.tasksDir, id, 'task.json');
      let task: TaskSnapshot;
      try {
        task = taskSnapshotSchema.parse(JSON.parse(await readFile(file, 'utf8')));
      } catch (e) {
        problems.push(`Task record ${file} is unreadable and was skipped (${(e as Error).message.split('\n')[0]}).`);
        continue;
      }
      if (task.state === 'running' || task.state === 'queued') {
        task = { ...task, state: 'failed', reason: task.state === 'running' ? DIED_WHILE_RUNNING : DIED_WHILE_QUEUED, endedAt: now };
        await this.save(task);
      }
      tasks.push(task);
    }
    tasks.sort((a, b) => a.createdAt - b.createdAt);
    return { tasks, problems };
  }
}
