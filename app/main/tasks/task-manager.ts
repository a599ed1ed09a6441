/**
 * The task queue (DESIGN.md "Tasks"): per-workspace concurrency limit, states queued → running
 * → succeeded | failed | cancelled, output to a capped log and to throttled subscribers,
 * progress from OSC 9;4 plus the last status line (or, for agents, progress and steps from their
 * structured output: output-readers.ts), cancel = SIGTERM then SIGKILL after a grace period.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { VivError, toVivError } from '../../shared/errors.js';
import type { TaskOutputChunk, TaskSnapshot } from '../../shared/contract-schemas.js';
import { OutputThrottle } from './output-throttle.js';
import type { AgentEvent } from '../agents/claude-stream-parser.js';
import { TerminalOutputReader, type TaskOutputReader } from './output-readers.js';
import { TaskLog, readLogRange } from './task-log.js';
import { StepLog, readSteps, type StepLimits, type TaskStepRecord } from './task-steps.js';
import type { TaskStore } from './task-store.js';
import type { ExitStatus, TaskExecutor, TaskProcess } from './task-types.js';

/** Tuning of the queue; every member has a sensible default. */
export interface TaskManagerOptions {
  /** Tasks running at once per workspace. */
  concurrency?: number;
  /** Cap of each task's output log, bytes. */
  logCapBytes?: number;
  /** Time between SIGTERM and SIGKILL on cancel. */
  cancelGraceMs?: number;
  /** Least time between two output (or progress) events of one task. */
  throttleMs?: number;
  /** Most bytes in one output event. */
  throttleMaxBytes?: number;
  /**
   * How a task's output is read (null or absent: terminal text with OSC 9;4 progress). `onStep`
   * records an agent step (steps.jsonl and the `step` event).
   */
  readerFor?: (task: TaskSnapshot, onStep: (step: AgentEvent) => void) => TaskOutputReader | null;
  stepLimits?: StepLimits;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

interface Live {
  proc: TaskProcess | null;
  cancelRequested: string | null;
  throttle: OutputThrottle;
  reader: TaskOutputReader;
  steps: StepLog;
  snapshotTimer: NodeJS.Timeout | null;
}

/** The task queue of one data folder. Events: `changed` (snapshot), `output` (throttled chunk), `step` (an agent step). */
export class TaskManager extends EventEmitter<{ changed: [TaskSnapshot]; output: [TaskOutputChunk]; step: [TaskStepRecord] }> {
  private readonly tasks = new Map<string, TaskSnapshot>();
  private readonly live = new Map<string, Live>();
  private readonly waiters = new Map<string, Array<(t: TaskSnapshot) => void>>();
  private readonly opts: Required<Omit<TaskManagerOptions, 'readerFor' | 'stepLimits'>>;

  constructor(private readonly store: TaskStore, private readonly executor: TaskExecutor, private readonly options: TaskManagerOptions = {}) {
    super();
    this.opts = {
      concurrency: options.concurrency ?? 4,
      logCapBytes: options.logCapBytes ?? 16 * 1024 * 1024,
      cancelGraceMs: options.cancelGraceMs ?? 3000,
      throttleMs: options.throttleMs ?? 100,
      throttleMaxBytes: options.throttleMaxBytes ?? 64 * 1024,
    };
  }

  /** Loads the records of earlier runs (unfinished ones become failed). Returns problems found. */
  async init(): Promise<string[]> {
    const { tasks, problems } = await this.store.loadAll();
    for (const t of tasks) this.tasks.set(t.id, t);
    return problems;
  }

  /** The tasks of a workspace, oldest first. */
  list(workspaceId: string): TaskSnapshot[] {
    return [...this.tasks.values()].filter((t) => t.workspaceId === workspaceId);
  }

  /** One task; throws notFound. */
  get(taskId: string): TaskSnapshot {
    const t = this.tasks.get(taskId);
    if (!t) throw new VivError('notFound', `There is no task ${taskId}.`);
    return t;
  }

  /** Queues a command; it starts as soon as the workspace has a free slot. */
  async enqueue(workspaceId: string, command: string, profileId: string | null = null): Promise<TaskSnapshot> {
    if (!command.trim()) throw new VivError('invalidArgument', 'The task has no command.');
    const task: TaskSnapshot = {
      id: randomUUID(), workspaceId, command, profileId, state: 'queued', exitCode: null, signal: null, reason: null,
      progress: { kind: 'none', percent: null }, statusLine: null, createdAt: Date.now(), startedAt: null, endedAt: null,
    };
    await this.store.save(task);
    this.tasks.set(task.id, task);
    this.emit('changed', task);
    this.pump(workspaceId);
    return task;
  }

  /** Resolves with the task's final snapshot once it has ended. */
  waitFor(taskId: string): Promise<TaskSnapshot> {
    const t = this.get(taskId);
    if (TERMINAL.has(t.state)) return Promise.resolve(t);
    return new Promise((resolve) => {
      const list = this.waiters.get(taskId) ?? [];
      list.push(resolve);
      this.waiters.set(taskId, list);
    });
  }

  /**
   * Cancels a task: a queued one at once; a running one gets SIGTERM, SIGKILL after the grace
   * period, and is abandoned if it still has not ended shortly after. Ended tasks are returned as they are.
   */
  async cancel(taskId: string, reason = 'Cancelled by the user.'): Promise<TaskSnapshot> {
    const t = this.get(taskId);
    if (TERMINAL.has(t.state)) return t;
    const live = this.live.get(taskId);
    if (t.state === 'queued' && !live) {
      await this.finish(taskId, { state: 'cancelled', reason });
      return this.get(taskId);
    }
    if (!live || live.cancelRequested) return this.waitFor(taskId);
    live.cancelRequested = reason;
    if (live.proc) void this.stopProcess(live.proc);
    return this.waitFor(taskId);
  }

  /** Cancels every unfinished task of a workspace (revoke, removal, VM stop). */
  async cancelWorkspace(workspaceId: string, reason: string): Promise<void> {
    const open = this.list(workspaceId).filter((t) => !TERMINAL.has(t.state));
    // Queued ones first, so none of them starts while the running ones are being stopped.
    open.sort((a, b) => (a.state === 'queued' ? -1 : 0) - (b.state === 'queued' ? -1 : 0));
    await Promise.all(open.map((t) => this.cancel(t.id, reason)));
  }

  /** The log from `offset` (the tail when more than maxBytes follow), decoded as UTF-8. */
  async readOutput(taskId: string, offset: number, maxBytes: number): Promise<TaskOutputChunk & { truncated: boolean }> {
    this.get(taskId);
    const r = await readLogRange(this.store.logPath(taskId), offset, maxBytes);
    return { taskId, offset: r.offset, data: r.data.toString('utf8'), truncated: r.truncated };
  }

  /** The steps an agent task recorded so far (none for plain commands). */
  async readSteps(taskId: string): Promise<TaskStepRecord[]> {
    this.get(taskId);
    await this.live.get(taskId)?.steps.flush();
    return readSteps(this.store.stepsPath(taskId));
  }

  private async stopProcess(proc: TaskProcess): Promise<void> {
    const ended = proc.exit.then(() => true);
    const within = (ms: number): Promise<boolean> => Promise.race([ended, new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    await proc.terminate().catch(() => undefined);
    if (await within(this.opts.cancelGraceMs)) return;
    await proc.kill().catch(() => undefined);
    if (await within(1000)) return;
    proc.abandon();
  }

  private runningCount(workspaceId: string): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.workspaceId === workspaceId && t.state === 'running') n++;
    return n;
  }

  private pump(workspaceId: string): void {
    for (const t of this.tasks.values()) {
      if (this.runningCount(workspaceId) >= this.opts.concurrency) return;
      if (t.workspaceId === workspaceId && t.state === 'queued' && !this.live.has(t.id)) void this.run(t.id);
    }
  }

  private update(taskId: string, patch: Partial<TaskSnapshot>): TaskSnapshot {
    const next = { ...this.get(taskId), ...patch };
    this.tasks.set(taskId, next);
    return next;
  }

  private async run(taskId: string): Promise<void> {
    const task = this.update(taskId, { state: 'running', startedAt: Date.now() });
    const throttle = new OutputThrottle(taskId, (c) => this.emit('output', c), this.opts.throttleMs, this.opts.throttleMaxBytes);
    const steps = new StepLog(taskId, this.store.stepsPath(taskId), this.options.stepLimits);
    const onStep = (step: AgentEvent): void => {
      const rec = steps.append(step);
      if (rec) this.emit('step', rec);
    };
    const reader = this.options.readerFor?.(task, onStep) ?? new TerminalOutputReader();
    const live: Live = { proc: null, cancelRequested: null, throttle, reader, steps, snapshotTimer: null };
    this.live.set(taskId, live);
    this.emit('changed', task);
    let log: TaskLog | null = null;
    try {
      await this.store.save(task);
      log = await TaskLog.open(this.store.logPath(taskId), this.opts.logCapBytes);
      // A status line from the executor (waiting for a VM restart...) shows until output replaces it.
      const status = (line: string): void => {
        if (this.get(taskId).state === 'running') this.emit('changed', this.update(taskId, { statusLine: line }));
      };
      const proc = await this.executor.start({ taskId, workspaceId: task.workspaceId, command: task.command, profileId: task.profileId }, status);
      live.proc = proc;
      if (live.cancelRequested) void this.stopProcess(proc);
      const exit = await this.collect(taskId, proc, log, live);
      await log.close();
      log = null;
      if (live.cancelRequested) await this.finish(taskId, { state: 'cancelled', reason: live.cancelRequested, ...exit });
      else if (exit.exitCode === 0) await this.finish(taskId, { state: 'succeeded', ...exit });
      else await this.finish(taskId, { state: 'failed', reason: exit.signal ? `Ended by signal ${exit.signal}.` : null, ...exit });
    } catch (e) {
      await log?.close().catch(() => undefined);
      const err = toVivError(e);
      if (live.cancelRequested) await this.finish(taskId, { state: 'cancelled', reason: live.cancelRequested });
      else await this.finish(taskId, { state: 'failed', reason: err.message });
    }
  }

  /** Pipes the process's streams into the log (with backpressure) and the parser; resolves at exit. */
  private async collect(taskId: string, proc: TaskProcess, log: TaskLog, live: Live): Promise<ExitStatus> {
    log.on('data', (offset, bytes) => live.throttle.push(offset, bytes));
    log.on('drain', () => proc.streams.forEach((s) => s.resume()));
    proc.streams.forEach((s, i) => {
      s.on('data', (chunk: Buffer) => {
        if (!log.append(chunk)) proc.streams.forEach((x) => x.pause());
        if (live.reader.feed(i === 0 ? 'stdout' : 'stderr', chunk)) this.scheduleSnapshot(taskId, live);
      });
    });
    const exit = await proc.exit;
    live.reader.end();
    return exit;
  }

  private scheduleSnapshot(taskId: string, live: Live): void {
    if (live.snapshotTimer) return;
    live.snapshotTimer = setTimeout(() => {
      live.snapshotTimer = null;
      const t = this.get(taskId);
      if (t.state !== 'running') return;
      this.emit('changed', this.update(taskId, { progress: live.reader.progress, statusLine: live.reader.statusLine ?? t.statusLine }));
    }, this.opts.throttleMs);
  }

  private async finish(taskId: string, patch: Partial<TaskSnapshot>): Promise<void> {
    const live = this.live.get(taskId);
    if (live) {
      live.throttle.flush();
      if (live.snapshotTimer) clearTimeout(live.snapshotTimer);
      patch = { progress: live.reader.progress, statusLine: live.reader.statusLine, ...patch };
      await live.steps.flush();
    }
    const done = this.update(taskId, { ...patch, endedAt: Date.now() });
    this.live.delete(taskId);
    await this.store.save(done).catch(() => undefined);
    this.emit('changed', done);
    for (const w of this.waiters.get(taskId) ?? []) w(done);
    this.waiters.delete(taskId);
    this.pump(done.workspaceId);
  }
}
