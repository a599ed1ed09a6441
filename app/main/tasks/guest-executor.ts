/**
 * The real task executor: each task is an SSH exec channel on the workspace VM's one guest
 * connection, in /workspace. Its shell's pid is recorded in the guest so cancel can signal the
 * whole process tree (SIGTERM, then SIGKILL) over a second channel.
 */
import type { GuestConnection } from '../guest/guest-connection.js';
import { guestPidFile, signalTreeCommand } from '../guest/remote-command.js';
import type { TaskCommand, TaskExecutor, TaskProcess } from './task-types.js';

/** What to run for a task, decided once its VM is up. */
export interface PreparedRun {
  /** The booted VM's connection. */
  conn: GuestConnection;
  /** The shell command line (a profile's invocation, or the task's own command). */
  command: string;
  /** Extra environment (the egress proxy, the gateway's base URLs and placeholder key). */
  env: Record<string, string>;
  /** Called once when the command has ended or could not start (e.g. to free the VM for a restart). */
  release?: () => void;
}

/**
 * Builds an executor on `prepare`, which boots (or waits for) the task's VM and decides its
 * command line and environment; it may throw to fail the task with its cause, and report what it
 * waits for through `status`.
 */
export function guestTaskExecutor(prepare: (cmd: TaskCommand, status: (line: string) => void) => Promise<PreparedRun>): TaskExecutor {
  return {
    async start(cmd: TaskCommand, status: (line: string) => void): Promise<TaskProcess> {
      const run = await prepare(cmd, status);
      const release = run.release ?? (() => undefined);
      const { conn } = run;
      const pidFile = guestPidFile(cmd.taskId);
      let ex;
      try {
        ex = await conn.exec(run.command, { pidFile, env: { ...run.env, VIVARIUM_TASK_ID: cmd.taskId } });
      } catch (e) {
        release();
        throw e;
      }
      const signalTree = async (sig: 'TERM' | 'KILL'): Promise<void> => {
        await conn.run(signalTreeCommand(pidFile, sig, sig === 'KILL'), { cwd: '/' });
      };
      // The pid file stays (guest /tmp is RAM, gone at VM stop): removing it would cost a channel.
      const exit = ex.exit.finally(release);
      return {
        streams: [ex.stdout, ex.stderr],
        exit,
        terminate: () => signalTree('TERM'),
        kill: () => signalTree('KILL'),
        abandon: () => ex.channel.close(),
      };
    },
  };
}
