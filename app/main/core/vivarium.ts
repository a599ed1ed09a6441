/**
 * The core facade: workspaces, consent grants, VMs, tasks and events, for the Electron shell,
 * the window API (it implements app/main/api/window-core.ts's WindowCore) and the `viv`
 * command alike. Plain Node; nothing here imports electron. Network egress, the API gateway and
 * the user's keys are wired in vivarium-base.ts (the class it extends).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, realpath, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename } from 'node:path';
import { VivError } from '../../shared/errors.js';
import type {
  AgentProfile, ConsentInspection, ShareMode, TaskOutputChunk, TaskSnapshot, TaskStepRecord, VmSettingsUpdate, VmSnapshot, WorkspaceSnapshot,
} from '../../shared/contract-schemas.js';
import type { PtyCallbacks, PtyHandle, WindowCore } from '../api/window-core.js';
import { AGENT_PROFILES, agentProfile, toContractProfile } from '../agents/agent-profiles.js';
import { canonicalFolder, grantFromInspection, inspectFolder, verifyGrant, type ConsentContext } from '../consent/consent.js';
import { refusalFor } from '../consent/folder-rules.js';
import type { GuestConnection } from '../guest/guest-connection.js';
import { dataPaths, type DataPaths } from '../paths.js';
import { platformDiskFormat } from '../image/standard-image.js';
import { DEFAULT_VM_SETTINGS, type StoredWorkspace } from '../state/state-schema.js';
import { StateStore } from '../state/state-store.js';
import type { VmLaunch } from '../vm/vm-instance.js';
import { openGuestPty } from './guest-pty.js';
import { discardStateDisk, stateDiskUnsupportedReason } from './state-disk.js';
import { VivariumBase, type VivariumOptions } from './vivarium-base.js';
import { WorkspaceState } from './workspace-state.js';

export type { BootProgress, VivariumOptions } from './vivarium-base.js';

/** The core. Create with `Vivarium.open`; call `close` at exit (stops every VM). */
export class Vivarium extends VivariumBase {
  /** Messages about recovered state (corrupt state.json, unreadable task records) found at open. */
  readonly recoveryMessages: string[] = [];

  private constructor(opts: VivariumOptions, paths: DataPaths, workspaces: WorkspaceState, private readonly consent: ConsentContext) {
    super(opts, paths, workspaces);
  }

  /** Opens the data folder: loads (or recovers) state.json and the task records. */
  static async open(opts: VivariumOptions): Promise<Vivarium> {
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
    const paths = dataPaths(await realpath(opts.dataDir));
    const store = new StateStore(paths.stateFile);
    const loaded = await store.load();
    const home = await realpath(opts.home ?? homedir()).catch(() => opts.home ?? homedir());
    const core = new Vivarium(opts, paths, new WorkspaceState(store, loaded.state), { home, dataDir: paths.root });
    if (loaded.recoveryMessage) core.recoveryMessages.push(loaded.recoveryMessage);
    core.recoveryMessages.push(...(await core.tasks.init()));
    return core;
  }

  // ── workspaces and consent ──────────────────────────────────────────────

  /** The share and sizing of the next boot (WorkspaceVms adds the image's disk and parameters). */
  protected override async launchOf(workspaceId: string, alreadyRunning: boolean): Promise<VmLaunch> {
    const w = this.workspaces.get(workspaceId);
    if (!w.grant) throw new VivError('invalidState', `Workspace ${w.name} has no folder grant (it was revoked); grant a folder again.`);
    if (!alreadyRunning) await verifyGrant(w.grant, this.consent);
    return {
      sharePath: w.grant.canonicalPath,
      readOnly: w.grant.mode === 'ro',
      cpus: w.settings.cpus,
      memoryMiB: w.settings.memoryMiB,
      // The egress relay (guest-image/vrelay/RELAY.md): the fast path when the helper has a data channel.
      optionalDataChannels: [{ name: 'egress', cmdline: ['vivarium.egress=1'] }],
    };
  }

  async listWorkspaces(): Promise<WorkspaceSnapshot[]> {
    return this.workspaces.all().map((w) => this.snapshotOf(w));
  }

  /** What granting a folder would mean (refusal, warnings, size). Grants nothing. */
  async inspectFolder(path: string): Promise<ConsentInspection> {
    return inspectFolder(path, this.consent);
  }

  /** Grants a folder and creates its workspace; refused folders and unconfirmed warnings throw. */
  async createWorkspace(path: string, mode: ShareMode, confirmWarnings: boolean): Promise<WorkspaceSnapshot> {
    const inspection = await this.inspectFolder(path);
    const id = randomUUID();
    const grant = grantFromInspection(inspection, id, mode, confirmWarnings);
    const w: StoredWorkspace = {
      id, name: basename(grant.canonicalPath), grant, settings: { ...DEFAULT_VM_SETTINGS }, egress: { mode: 'off' }, createdAt: grant.createdAt,
    };
    return this.changed(await this.workspaces.add(w));
  }

  /**
   * The workspace granting exactly this folder with this mode, created if needed (`viv run`:
   * running it is the user's consent for that folder; refused folders are still refused).
   */
  async workspaceForFolder(path: string, mode: ShareMode): Promise<WorkspaceSnapshot> {
    // No folder walk here: warnings do not stop `viv run`, and big folders would cost every run.
    const canonical = await canonicalFolder(path);
    const refusal = refusalFor(canonical, this.consent);
    if (refusal) throw new VivError('invalidArgument', `Vivarium refuses to share ${path}: ${refusal}`);
    const found = this.workspaces.forFolder(canonical, mode);
    if (found) return this.snapshotOf(found);
    return this.createWorkspace(path, mode, true);
  }

  /** Stops the VM, cancels tasks and forgets the workspace. */
  async removeWorkspace(workspaceId: string): Promise<void> {
    await this.withdraw(workspaceId, 'The workspace was removed.');
    await this.workspaces.remove(workspaceId);
    this.vms.forget(workspaceId);
    // The VM folder holds the last boot's keys and console log: they go with the workspace.
    await rm(this.paths.vmDir(workspaceId), { recursive: true, force: true });
    this.emit({ event: 'workspace:removed', payload: { workspaceId } });
  }

  /** Withdraws consent: running tasks are cancelled, the VM stops, the grant is dropped. */
  async revokeGrant(workspaceId: string): Promise<WorkspaceSnapshot> {
    await this.withdraw(workspaceId, 'Access to the folder was revoked.');
    return this.changed(await this.workspaces.update(workspaceId, { grant: null }));
  }

  private async withdraw(workspaceId: string, reason: string): Promise<void> {
    this.workspaces.get(workspaceId);
    await this.tasks.cancelWorkspace(workspaceId, reason);
    await this.vms.stop(workspaceId, false);
  }

  /**
   * Sets CPUs, memory and keepState (absent = unchanged) for the next VM start. Turning keepState
   * on is refused where the helper cannot attach the state disk (Windows: VHDX only).
   */
  async updateSettings(workspaceId: string, settings: VmSettingsUpdate): Promise<WorkspaceSnapshot> {
    const current = this.workspaces.get(workspaceId).settings;
    const keepState = settings.keepState ?? current.keepState;
    const unsupported = keepState && !current.keepState ? stateDiskUnsupportedReason(platformDiskFormat()) : null;
    if (unsupported) throw new VivError('unsupported', unsupported);
    return this.changed(await this.workspaces.update(workspaceId, { settings: { cpus: settings.cpus, memoryMiB: settings.memoryMiB, keepState } }));
  }

  /** Deletes the saved state disk (keepState) of a stopped VM; false when there was none. */
  async discardVmState(workspaceId: string): Promise<boolean> {
    this.workspaces.get(workspaceId);
    const state = this.vms.snapshot(workspaceId).state;
    if (state !== 'stopped' && state !== 'failed') {
      throw new VivError('invalidState', `The VM is ${state}: stop it before discarding its saved state.`);
    }
    return discardStateDisk(this.paths.vmDir(workspaceId));
  }

  // ── VMs ─────────────────────────────────────────────────────────────────

  /**
   * Boots the workspace's VM after re-checking its grant (with the image it last ran; tasks that
   * need another image switch it, and `image` picks one for this boot when the VM is stopped);
   * resolves once the guest answers.
   */
  async startVm(workspaceId: string, image?: 'tiny' | 'standard'): Promise<VmSnapshot> {
    this.workspaces.get(workspaceId);
    await this.vms.start(workspaceId, image);
    return this.vms.snapshot(workspaceId);
  }

  /** Stops the VM (its running tasks are cancelled first). */
  async stopVm(workspaceId: string, force: boolean): Promise<VmSnapshot> {
    this.workspaces.get(workspaceId);
    await this.tasks.cancelWorkspace(workspaceId, 'The VM was stopped.');
    await this.vms.stop(workspaceId, force);
    return this.vms.snapshot(workspaceId);
  }

  /** The guest connection of the workspace, booting its VM first when needed. */
  async connection(workspaceId: string): Promise<GuestConnection> {
    await this.startVm(workspaceId);
    return this.vms.connection(workspaceId);
  }

  /** The running VM's channel endpoint and key files (diagnostics, bench/exec); null unless running. */
  guestEndpoint(workspaceId: string): { socketPath: string; clientKeyFile: string; hostPublicKey: string } | null {
    return this.vms.running(workspaceId) ? this.vms.vm(workspaceId).endpointInfo() : null;
  }

  /** Drops the guest connection but keeps the VM (the channel socket then serves one other client). */
  disconnectGuest(workspaceId: string): void {
    if (this.vms.running(workspaceId)) this.vms.vm(workspaceId).disconnect();
  }

  /** The accelerator of the workspace's current boot (for `viv` and doctor output). */
  accelerator(workspaceId: string): string | null {
    return this.vms.running(workspaceId) ? this.vms.vm(workspaceId).accelerator : null;
  }

  /** The image the workspace's VM runs now (null when it is not running). */
  runningImage(workspaceId: string): 'tiny' | 'standard' | null {
    return this.vms.running(workspaceId);
  }

  // ── tasks, profiles, shells ─────────────────────────────────────────────

  async listTasks(workspaceId: string): Promise<TaskSnapshot[]> {
    this.workspaces.get(workspaceId);
    return this.tasks.list(workspaceId);
  }

  /**
   * Queues a task: a shell command, or a profile's prompt (the command line is built when it
   * starts, with the gateway's environment). An agent whose API key is missing is refused here.
   */
  async startTask(workspaceId: string, command: string, profileId: string | null): Promise<TaskSnapshot> {
    const w = this.workspaces.get(workspaceId);
    if (!w.grant) throw new VivError('invalidState', `Workspace ${w.name} has no folder grant; grant a folder before running tasks.`);
    const profile = agentProfile(profileId);
    if (profile.argv.length > 0 && command.trim() === '') throw new VivError('invalidArgument', `${profile.name} needs a prompt.`);
    await this.requireKeys(profile);
    return this.tasks.enqueue(workspaceId, command, profileId);
  }

  async cancelTask(taskId: string): Promise<TaskSnapshot> {
    return this.tasks.cancel(taskId);
  }

  async readTaskOutput(taskId: string, offset: number, maxBytes: number): Promise<TaskOutputChunk & { truncated: boolean }> {
    return this.tasks.readOutput(taskId, offset, maxBytes);
  }

  /** An agent task's steps so far (none for plain commands). */
  async taskSteps(taskId: string): Promise<TaskStepRecord[]> {
    return this.tasks.readSteps(taskId);
  }

  async listProfiles(): Promise<AgentProfile[]> {
    return AGENT_PROFILES.map(toContractProfile);
  }

  /** Opens an interactive shell (PTY) in /workspace of the workspace's VM, booting it if needed. */
  async openPty(workspaceId: string, cols: number, rows: number, callbacks: PtyCallbacks): Promise<PtyHandle> {
    const conn = await this.connection(workspaceId);
    return openGuestPty(conn, cols, rows, callbacks);
  }

  /** Cancels running tasks and stops every VM. Call once at exit. */
  async close(): Promise<void> {
    await this.stopAll('Vivarium is quitting.');
    // Delivers the last throttled egress records before the process goes.
    await this.closeSessions();
  }

  /** Cancels every task (with `reason`) and stops every VM; the core stays usable. */
  async stopAll(reason: string): Promise<void> {
    await Promise.all(this.vms.ids().map(async (id) => {
      await this.tasks.cancelWorkspace(id, reason).catch(() => undefined);
      await this.vms.stop(id, false).catch(() => undefined);
    }));
  }
}

/** Compile-time proof that the core is what the window API needs (app/main/api/window-core.ts). */
export const asWindowCore = (core: Vivarium): WindowCore => core;
