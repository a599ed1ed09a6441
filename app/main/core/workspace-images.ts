/**
 * Which guest image a workspace's VM runs, and switching it for a task that needs another one
 * (issue 10). The standard image (Debian with the agents) covers everything the tiny one does,
 * so a VM only ever switches up: a task needing `standard` in a VM running `tiny` waits until no
 * other task is running in that VM, then the VM restarts with the standard image (open terminals
 * close with it; the task's status line says so). Meanwhile new tasks of any image wait for the
 * restart instead of keeping the tiny VM busy forever. The standard image is loaded and verified
 * BEFORE the running VM is stopped, so a missing image fails the task and leaves the VM alone.
 */
import { VivError } from '../../shared/errors.js';
import type { GuestImageKind } from '../agents/agent-profiles.js';
import type { GuestConnection } from '../guest/guest-connection.js';

/** What the coordinator drives: the core's VM operations for one workspace. */
export interface ImageHost {
  /** Whether the VM runs now, and with which image (null when not running). */
  running(workspaceId: string): GuestImageKind | null;
  /** The image the next plain start would use (the last one booted, or the one preferred since). */
  lastImage(workspaceId: string): GuestImageKind;
  /** Makes `kind` the image of the next plain start (a shell opened during a restart gets it too). */
  prefer(workspaceId: string, kind: GuestImageKind): void;
  /** Loads and verifies an image without touching the VM (throws the cause when it cannot be used). */
  prepare(kind: GuestImageKind): Promise<void>;
  /** Boots the VM with `kind` (joins a boot in progress); resolves once the guest answers. */
  start(workspaceId: string, kind: GuestImageKind): Promise<void>;
  /** Stops the VM (closing its egress and gateway sessions first). */
  stop(workspaceId: string): Promise<void>;
  connection(workspaceId: string): Promise<GuestConnection>;
}

/** A task's hold on a VM with the image it needs; `release` when its command has ended. */
export interface VmLease {
  conn: GuestConnection;
  release(): void;
}

/** True when a VM running `have` can run a task needing `need`. */
export function imageCovers(have: GuestImageKind, need: GuestImageKind): boolean {
  return have === 'standard' || need === 'tiny';
}

/** Status lines a waiting task shows. */
export const RESTART_WAITING = 'Waiting for the other tasks in this VM to end; the VM then restarts with the standard image (open terminals close).';
export const RESTARTING = 'Restarting the VM with the standard image…';
export const WAITING_FOR_RESTART = 'Waiting for the VM to restart with the standard image…';

/** Coordinates image switches and counts the tasks running in each VM. */
export class WorkspaceImages {
  private readonly busy = new Map<string, number>();
  private readonly restarts = new Map<string, Promise<void>>();
  private readonly idleWaiters = new Map<string, Array<() => void>>();

  constructor(private readonly host: ImageHost) {}

  /** Tasks holding a lease in the workspace's VM now. */
  busyCount(workspaceId: string): number {
    return this.busy.get(workspaceId) ?? 0;
  }

  /**
   * A connection to the workspace's VM running an image that covers `need`, booting or
   * restarting it as described above. `status` reports what the task waits for.
   */
  async acquire(workspaceId: string, need: GuestImageKind, status: (line: string) => void): Promise<VmLease> {
    // Each round either returns or changes the VM's state; more rounds than this is a bug, not a wait.
    for (let round = 0; round < 6; round++) {
      const pending = this.restarts.get(workspaceId);
      if (pending) {
        status(WAITING_FOR_RESTART);
        // Its failure is the restarting task's to report; this one looks again.
        await pending.catch(() => undefined);
        continue;
      }
      const have = this.host.running(workspaceId);
      if (have === null) {
        const last = this.host.lastImage(workspaceId);
        await this.host.start(workspaceId, imageCovers(last, need) ? last : need);
        continue;
      }
      if (imageCovers(have, need)) return this.lease(workspaceId);
      await this.restart(workspaceId, need, status);
    }
    throw new VivError('internal', `The VM of this workspace did not come up with the ${need} image.`);
  }

  private async lease(workspaceId: string): Promise<VmLease> {
    this.busy.set(workspaceId, this.busyCount(workspaceId) + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const n = this.busyCount(workspaceId) - 1;
      this.busy.set(workspaceId, n);
      if (n === 0) {
        for (const w of this.idleWaiters.get(workspaceId) ?? []) w();
        this.idleWaiters.delete(workspaceId);
      }
    };
    try {
      return { conn: await this.host.connection(workspaceId), release };
    } catch (e) {
      release();
      throw e;
    }
  }

  private restart(workspaceId: string, need: GuestImageKind, status: (line: string) => void): Promise<void> {
    const existing = this.restarts.get(workspaceId);
    if (existing) return existing;
    const run = (async () => {
      await this.host.prepare(need);
      if (this.busyCount(workspaceId) > 0) {
        status(RESTART_WAITING);
        await new Promise<void>((resolve) => {
          const list = this.idleWaiters.get(workspaceId) ?? [];
          list.push(resolve);
          this.idleWaiters.set(workspaceId, list);
        });
      }
      status(RESTARTING);
      this.host.prefer(workspaceId, need);
      await this.host.stop(workspaceId);
      await this.host.start(workspaceId, need);
    })().finally(() => this.restarts.delete(workspaceId));
    this.restarts.set(workspaceId, run);
    return run;
  }
}
