/**
 * A task's steps (issue 10): what an agent did, one JSON record per line in
 * `tasks/<id>/steps.jsonl` beside output.log, in the contract's shape (TaskStepRecord). Bounded
 * twice: a tool use keeps only its one-line summary (a Write tool's input carries the whole file;
 * the output log has it), and the file stops at a cap in steps and bytes, after which one
 * `notice` step says so and later steps are not kept.
 * Appends are ordered; a write failure never fails the task (the output log still has it all).
 */
import { appendFile, readFile } from 'node:fs/promises';
import { taskStepRecordSchema, type TaskStep, type TaskStepRecord } from '../../shared/contract-schemas.js';
import type { AgentEvent } from '../agents/claude-stream-parser.js';

/** File name of a task's step log inside `tasks/<id>/`. */
export const STEPS_FILE = 'steps.jsonl';

export type { TaskStepRecord };

/** Limits of one task's step log. */
export interface StepLimits {
  maxSteps: number;
  maxBytes: number;
}

export const DEFAULT_STEP_LIMITS: StepLimits = { maxSteps: 5000, maxBytes: 8 * 1024 * 1024 };

/** A parser event as a step: a tool use without its raw input (the summary names what it did). */
export function toTaskStep(e: AgentEvent): TaskStep {
  if (e.kind !== 'tool-use') return e;
  return { kind: 'tool-use', id: e.id, name: e.name, summary: e.summary };
}

/** Appends the steps of one running task. */
export class StepLog {
  private count = 0;
  private bytes = 0;
  private full = false;
  private chain: Promise<void> = Promise.resolve();
  /** The first write failure (reported by nobody: steps are a view, the output log is the record). */
  failure: Error | null = null;

  constructor(
    private readonly taskId: string,
    private readonly path: string,
    private readonly limits: StepLimits = DEFAULT_STEP_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a step; returns the record (for the event) or null once the cap was reached. */
  append(step: AgentEvent): TaskStepRecord | null {
    if (this.full) return null;
    let rec: TaskStepRecord = { taskId: this.taskId, index: this.count, at: this.now(), step: toTaskStep(step) };
    let line = `${JSON.stringify(rec)}\n`;
    if (this.count + 1 >= this.limits.maxSteps || this.bytes + Buffer.byteLength(line) > this.limits.maxBytes) {
      this.full = true;
      rec = { ...rec, step: { kind: 'notice', text: `The step list reached its limit (${this.limits.maxSteps} steps or ${this.limits.maxBytes} bytes); later steps are only in the output log.` } };
      line = `${JSON.stringify(rec)}\n`;
    }
    this.count++;
    this.bytes += Buffer.byteLength(line);
    this.chain = this.chain.then(() => appendFile(this.path, line, { mode: 0o600 })).catch((e: unknown) => {
      this.failure ??= e as Error;
    });
    return rec;
  }

  /** Waits for every queued write. */
  flush(): Promise<void> {
    return this.chain;
  }
}

/** Reads a task's steps (none when the file does not exist; unreadable lines are skipped). */
export async function readSteps(path: string): Promise<TaskStepRecord[]> {
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  const out: TaskStepRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = taskStepRecordSchema.safeParse(JSON.parse(line));
      if (r.success) out.push(r.data);
    } catch {
      // A torn last line after a crash.
    }
  }
  return out;
}
