/**
 * The real task executor: each task is an SSH exec channel on the workspace VM's one guest
 * connection, in /workspace. Its shell's pid is recorded in the guest so cancel can signal the
 * whole process tree (SIGTERM, then SIGKILL) over a second channel.
 */
import type { GuestConnection } from '../guest/guest-connection.js';
import { guestPidFile, signalTreeCommand } from '../guest/remote-command.js';
import type { TaskCommand, TaskExecutor, TaskProcess } from './task-types.js';

/**
 * Builds an executor on a function that returns the (booted) guest connection of a workspace.
 * `envFor` adds variables to a task's environment once its VM is up (the egress proxy's
 * HTTP_PROXY and friends); it may throw to fail the task with its cause.
 */
export function guestTaskExecutor(
  connectionFor: (workspaceId: string) => Promise<GuestConnection>,
  envFor: (cmd: TaskCommand) => Promise<Record<string, string>> = async () => ({}),
): TaskExecutor {
  return {
    async start(cmd: TaskCommand): Promise<TaskProcess> {
      const conn = await connectionFor(cmd.workspaceId);
      const pidFile = guestPidFile(cmd.taskId);
      const env = { ...(await envFor(cmd)), VIVARIUM_TASK_ID: cmd.taskId };
      const ex = await conn.exec(cmd.command, { pidFile, env });
      const signalTree = async (sig: 'TERM' | 'KILL'): Promise<void> => {
        await conn.run(signalTreeCommand(pidFile, sig, sig === 'KILL'), { cwd: '/' });
      };
      // The pid file stays (guest /tmp is RAM, gone at VM stop): removing it would cost a channel.
      const exit = ex.exit;
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
