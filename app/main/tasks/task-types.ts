/**
 * The seam between the task queue and whatever runs a command (the guest's SSH exec in the
 * app, a scripted fake in unit tests of the queue logic).
 */
import type { Readable } from 'node:stream';

/** How a command ended: the exit code, or the signal name that ended it. */
export interface ExitStatus {
  exitCode: number | null;
  signal: string | null;
}

/** A command running in a workspace's VM. */
export interface TaskProcess {
  /** Output streams (stdout and stderr); the queue merges them into the log in arrival order. */
  readonly streams: readonly Readable[];
  /** Resolves once the command has ended and all its output was delivered. MUST NOT reject. */
  readonly exit: Promise<ExitStatus>;
  /** Asks the command to stop (SIGTERM to it and its children). */
  terminate(): Promise<void>;
  /** Ends it at once (SIGKILL to it and its children). */
  kill(): Promise<void>;
  /** Drops the channel without waiting; `exit` then resolves soon with what is known. */
  abandon(): void;
}

/** What a task asks to run. */
export interface TaskCommand {
  taskId: string;
  workspaceId: string;
  /** The shell command, or the prompt of an agent profile. */
  command: string;
  /** The agent profile (null: a plain shell command). */
  profileId: string | null;
}

/** Starts commands; rejects with a VivError naming the cause when it cannot (VM failed to boot...). */
export interface TaskExecutor {
  /** `status` shows a line in the task's status while it waits (e.g. for a VM restart). */
  start(cmd: TaskCommand, status: (line: string) => void): Promise<TaskProcess>;
}
