/**
 * Where Vivarium keeps its data (DESIGN.md "State on disk"). The CLI uses
 * `$XDG_DATA_HOME/vivarium` (default `~/.local/share/vivarium`); Electron passes its `userData`.
 * Layout: `state.json` (+ `.bak`), `tasks/<id>/{task.json,output.log}`, `vms/<id>/` (keys 0600,
 * console.log, `run/` with the channel socket).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The data folder of the `viv` command. `VIVARIUM_DATA_DIR` overrides it (tests, portable use). */
export function cliDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIVARIUM_DATA_DIR) return resolve(env.VIVARIUM_DATA_DIR);
  const xdg = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(xdg, 'vivarium');
}

/** The named files and folders inside one data folder. */
export interface DataPaths {
  readonly root: string;
  readonly stateFile: string;
  readonly tasksDir: string;
  taskDir(taskId: string): string;
  vmDir(workspaceId: string): string;
}

/** Builds the layout of a data folder. Ids are minted by the core (uuid-like), never user text. */
export function dataPaths(root: string): DataPaths {
  return {
    root,
    stateFile: join(root, 'state.json'),
    tasksDir: join(root, 'tasks'),
    taskDir: (taskId) => join(root, 'tasks', taskId),
    vmDir: (workspaceId) => join(root, 'vms', workspaceId),
  };
}

/** The repository root (this file lives in app/main/). `VIVARIUM_REPO` overrides it. */
export function repoRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIVARIUM_REPO) return resolve(env.VIVARIUM_REPO);
  return resolve(fileURLToPath(new URL('../..', import.meta.url)));
}
