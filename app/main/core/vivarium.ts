/**
 * The core facade: workspaces, consent grants, VMs, tasks and events, for the Electron shell,
 * the window API (it implements app/main/api/window-core.ts's WindowCore) and the `viv`
 * command alike. Plain Node; nothing here imports electron.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, realpath, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename } from 'node:path';
import { VivError } from '../../shared/errors.js';
import type {
  AgentProfile, ConsentInspection, EgressAnswer, EgressLog, EgressPolicy, EgressPromptInfo, ShareMode, TaskOutputChunk, TaskSnapshot, VmSettings, VmSnapshot, WorkspaceSnapshot,
} from '../../shared/contract-schemas.js';
import type { CoreEvent, PtyCallbacks, PtyHandle, WindowCore } from '../api/window-core.js';
import { canonicalFolder, grantFromInspection, inspectFolder, verifyGrant, type ConsentContext } from '../consent/consent.js';
import { refusalFor } from '../consent/folder-rules.js';
import type { GuestConnection } from '../guest/guest-connection.js';
import { loadGuestImage, hostGuestArch, type GuestArch, type GuestImage } from '../image/guest-image.js';
import { dataPaths, type DataPaths } from '../paths.js';
import { DEFAULT_VM_SETTINGS, type StateFile, type StoredWorkspace } from '../state/state-schema.js';
import { StateStore } from '../state/state-store.js';
import { guestTaskExecutor } from '../tasks/guest-executor.js';
import { TaskManager, type TaskManagerOptions } from '../tasks/task-manager.js';
import { TaskStore } from '../tasks/task-store.js';
import type { HelperFactory } from '../vm/helper-port.js';
import { VmInstance, type BootPhase, type VmTimeouts } from '../vm/vm-instance.js';
import { BUILTIN_PROFILES, commandFor } from './profiles.js';
import { openGuestPty } from './guest-pty.js';
import { validatedPolicy, WorkspaceEgress } from './workspace-egress.js';
import type { EgressLimits } from '../egress/egress-proxy.js';

/** How to open the core. */
export interface VivariumOptions {
  /** The data folder (Electron: userData; CLI: cliDataDir()). */
  dataDir: string;
  /** Spawns a helper process (the qemu-helper on Linux). */
  helperFactory: HelperFactory;
  /** Guest image folder (default: app/main/image's defaultGuestDir()). */
  guestDir?: string;
  guestArch?: GuestArch;
  tasks?: TaskManagerOptions;
  vmTimeouts?: VmTimeouts;
  home?: string;
  /**
   * Whether a request to a blocked host waits for the user's answer (the app, default) or is
   * refused at once with "nobody is there to ask" (the headless `viv`).
   */
  interactiveEgress?: boolean;
  egressLimits?: Partial<EgressLimits>;
}

/** Events of the core beyond the window contract: boot progress (for `viv` and logs). */
export interface BootProgress {
  workspaceId: string;
  phase: BootPhase;
  elapsedMs: number;
}

/** The core. Create with `Vivarium.open`; call `close` at exit (stops every VM). */
export class Vivarium {
  private readonly events = new EventEmitter<{ event: [CoreEvent]; boot: [BootProgress]; connected: [string, GuestConnection] }>();
  private readonly vms = new Map<string, VmInstance>();
  private imagePromise: Promise<GuestImage> | null = null;
  readonly tasks: TaskManager;
  private readonly egress: WorkspaceEgress;
  /** Policies for this process only (`viv run --allow`), in place of the stored one. */
  private readonly egressOverrides = new Map<string, EgressPolicy>();
  /** Messages about recovered state (corrupt state.json, unreadable task records) found at open. */
  readonly recoveryMessages: string[] = [];

  private constructor(
    private readonly opts: VivariumOptions,
    readonly paths: DataPaths,
    private readonly store: StateStore,
    private state: StateFile,
    private readonly consent: ConsentContext,
  ) {
    this.egress = new WorkspaceEgress({
      tasksDir: paths.tasksDir,
      vmDir: (id) => paths.vmDir(id),
      policyOf: (id) => this.egressPolicyOf(id),
      onPolicyGranted: (id, policy) => void this.storeEgress(id, policy).catch(() => undefined),
      emit: (e) => this.emit(e),
      interactive: opts.interactiveEgress ?? true,
      limits: opts.egressLimits,
    });
    const executor = guestTaskExecutor((id) => this.connection(id), (cmd) => this.egress.taskEnvironment(cmd.workspaceId, cmd.taskId));
    this.tasks = new TaskManager(new TaskStore(paths.tasksDir), executor, opts.tasks);
    this.tasks.on('changed', (t) => {
      if (t.endedAt !== null) this.egress.taskEnded(t.workspaceId, t.id);
      this.emit({ event: 'task:changed', payload: t });
    });
    this.tasks.on('output', (c) => this.emit({ event: 'task:output', payload: c }));
  }

  /** Opens the data folder: loads (or recovers) state.json and the task records. */
  static async open(opts: VivariumOptions): Promise<Vivarium> {
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
    const paths = dataPaths(await realpath(opts.dataDir));
    const store = new StateStore(paths.stateFile);
    const loaded = await store.load();
    const home = await realpath(opts.home ?? homedir()).catch(() => opts.home ?? homedir());
    const core = new Vivarium(opts, paths, store, loaded.state, { home, dataDir: paths.root });
    if (loaded.recoveryMessage) core.recoveryMessages.push(loaded.recoveryMessage);
    core.recoveryMessages.push(...(await core.tasks.init()));
    return core;
  }

  private emit(e: CoreEvent): void {
    this.events.emit('event', e);
  }

  /** Delivers every broadcast event until the returned function is called. */
  subscribe(listener: (event: CoreEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  /** Boot progress of any VM (phases with elapsed time). */
  onBootProgress(listener: (p: BootProgress) => void): () => void {
    this.events.on('boot', listener);
    return () => this.events.off('boot', listener);
  }

  /**
   * Every new guest connection (each boot, each reconnect), e.g. to attach the egress forward
   * with `conn.sshClient`. Returns the unsubscriber.
   */
  onGuestConnected(listener: (workspaceId: string, conn: GuestConnection) => void): () => void {
    this.events.on('connected', listener);
    return () => this.events.off('connected', listener);
  }

  // ── workspaces and consent ──────────────────────────────────────────────

  private workspace(id: string): StoredWorkspace {
    const w = this.state.workspaces.find((x) => x.id === id);
    if (!w) throw new VivError('notFound', `There is no workspace ${id}.`);
    return w;
  }

  private vm(id: string): VmInstance {
    let vm = this.vms.get(id);
    if (!vm) {
      const image = (): Promise<GuestImage> => {
        this.imagePromise ??= loadGuestImage(this.opts.guestArch ?? hostGuestArch(), this.opts.guestDir).catch((e: unknown) => {
          this.imagePromise = null;
          throw e;
        });
        return this.imagePromise;
      };
      vm = new VmInstance(id, this.paths.vmDir(id), this.opts.helperFactory, image, this.opts.vmTimeouts);
      vm.on('changed', () => this.emit({ event: 'workspace:changed', payload: this.snapshotOf(this.workspace(id)) }));
      vm.on('phase', (phase, elapsedMs) => this.events.emit('boot', { workspaceId: id, phase, elapsedMs }));
      vm.on('connected', (conn) => {
        this.egress.attach(id, conn);
        this.events.emit('connected', id, conn);
      });
      this.vms.set(id, vm);
    }
    return vm;
  }

  private snapshotOf(w: StoredWorkspace): WorkspaceSnapshot {
    const vm = this.vms.get(w.id)?.snapshot() ?? { state: 'stopped', reason: null, bootMs: null, startedAt: null };
    return { id: w.id, name: w.name, grant: w.grant, vm, settings: w.settings, egress: this.egressPolicyOf(w.id) };
  }

  private async save(): Promise<void> {
    await this.store.save(this.state);
  }

  async listWorkspaces(): Promise<WorkspaceSnapshot[]> {
    return this.state.workspaces.map((w) => this.snapshotOf(w));
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
    this.state = { ...this.state, workspaces: [...this.state.workspaces, w] };
    await this.save();
    const snap = this.snapshotOf(w);
    this.emit({ event: 'workspace:changed', payload: snap });
    return snap;
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
    const found = this.state.workspaces.find((w) => w.grant?.canonicalPath === canonical && w.grant.mode === mode);
    if (found) return this.snapshotOf(found);
    return this.createWorkspace(path, mode, true);
  }

  /** Stops the VM, cancels tasks and forgets the workspace. */
  async removeWorkspace(workspaceId: string): Promise<void> {
    await this.withdraw(workspaceId, 'The workspace was removed.');
    this.state = { ...this.state, workspaces: this.state.workspaces.filter((w) => w.id !== workspaceId) };
    this.vms.delete(workspaceId);
    await this.save();
    // The VM folder holds the last boot's keys and console log: they go with the workspace.
    await rm(this.paths.vmDir(workspaceId), { recursive: true, force: true });
    this.emit({ event: 'workspace:removed', payload: { workspaceId } });
  }

  /** Withdraws consent: running tasks are cancelled, the VM stops, the grant is dropped. */
  async revokeGrant(workspaceId: string): Promise<WorkspaceSnapshot> {
    await this.withdraw(workspaceId, 'Access to the folder was revoked.');
    const w = this.workspace(workspaceId);
    const next = { ...w, grant: null };
    this.state = { ...this.state, workspaces: this.state.workspaces.map((x) => (x.id === workspaceId ? next : x)) };
    await this.save();
    const snap = this.snapshotOf(next);
    this.emit({ event: 'workspace:changed', payload: snap });
    return snap;
  }

  private async withdraw(workspaceId: string, reason: string): Promise<void> {
    this.workspace(workspaceId);
    await this.tasks.cancelWorkspace(workspaceId, reason);
    await this.stopVmOf(workspaceId, false);
  }

  /** Closes the VM's egress session (its prompts refused, its log written) while SSH is up, then stops the VM. */
  private async stopVmOf(workspaceId: string, force: boolean): Promise<void> {
    await this.egress.close(workspaceId);
    await this.vms.get(workspaceId)?.stop(force);
  }

  /** Sets CPUs and memory for the next VM start. */
  async updateSettings(workspaceId: string, settings: VmSettings): Promise<WorkspaceSnapshot> {
    const w = { ...this.workspace(workspaceId), settings: { cpus: settings.cpus, memoryMiB: settings.memoryMiB } };
    this.state = { ...this.state, workspaces: this.state.workspaces.map((x) => (x.id === workspaceId ? w : x)) };
    await this.save();
    const snap = this.snapshotOf(w);
    this.emit({ event: 'workspace:changed', payload: snap });
    return snap;
  }

  // ── VMs ─────────────────────────────────────────────────────────────────

  /** Boots the workspace's VM after re-checking its grant; resolves once the guest answers. */
  async startVm(workspaceId: string): Promise<VmSnapshot> {
    const w = this.workspace(workspaceId);
    if (!w.grant) throw new VivError('invalidState', `Workspace ${w.name} has no folder grant (it was revoked); grant a folder again.`);
    const vm = this.vm(workspaceId);
    if (vm.snapshot().state !== 'running') await verifyGrant(w.grant, this.consent);
    await vm.start({ sharePath: w.grant.canonicalPath, readOnly: w.grant.mode === 'ro', cpus: w.settings.cpus, memoryMiB: w.settings.memoryMiB });
    return vm.snapshot();
  }

  /** Stops the VM (its running tasks are cancelled first). */
  async stopVm(workspaceId: string, force: boolean): Promise<VmSnapshot> {
    this.workspace(workspaceId);
    const vm = this.vms.get(workspaceId);
    if (!vm) return { state: 'stopped', reason: null, bootMs: null, startedAt: null };
    await this.tasks.cancelWorkspace(workspaceId, 'The VM was stopped.');
    await this.stopVmOf(workspaceId, force);
    return vm.snapshot();
  }

  /** The guest connection of the workspace, booting its VM first when needed. */
  async connection(workspaceId: string): Promise<GuestConnection> {
    await this.startVm(workspaceId);
    return this.vm(workspaceId).connection();
  }

  /** The running VM's channel endpoint and key files (diagnostics, bench/exec); null unless running. */
  guestEndpoint(workspaceId: string): { socketPath: string; clientKeyFile: string; hostPublicKey: string } | null {
    return this.vms.get(workspaceId)?.endpointInfo() ?? null;
  }

  /** Drops the guest connection but keeps the VM (the channel socket then serves one other client). */
  disconnectGuest(workspaceId: string): void {
    this.vms.get(workspaceId)?.disconnect();
  }

  /** The accelerator of the workspace's current boot (for `viv` and doctor output). */
  accelerator(workspaceId: string): string | null {
    return this.vms.get(workspaceId)?.accelerator ?? null;
  }

  // ── tasks, profiles, shells ─────────────────────────────────────────────

  async listTasks(workspaceId: string): Promise<TaskSnapshot[]> {
    this.workspace(workspaceId);
    return this.tasks.list(workspaceId);
  }

  /** Queues a task (a shell command, or a profile's template around a prompt). */
  async startTask(workspaceId: string, command: string, profileId: string | null): Promise<TaskSnapshot> {
    const w = this.workspace(workspaceId);
    if (!w.grant) throw new VivError('invalidState', `Workspace ${w.name} has no folder grant; grant a folder before running tasks.`);
    return this.tasks.enqueue(workspaceId, commandFor(profileId, command), profileId);
  }

  async cancelTask(taskId: string): Promise<TaskSnapshot> {
    return this.tasks.cancel(taskId);
  }

  async readTaskOutput(taskId: string, offset: number, maxBytes: number): Promise<TaskOutputChunk & { truncated: boolean }> {
    return this.tasks.readOutput(taskId, offset, maxBytes);
  }

  async listProfiles(): Promise<AgentProfile[]> {
    return [...BUILTIN_PROFILES];
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
    await this.egress.closeAll();
  }

  /** Cancels every task (with `reason`) and stops every VM; the core stays usable. */
  async stopAll(reason: string): Promise<void> {
    await Promise.all([...this.vms.keys()].map(async (id) => {
      await this.tasks.cancelWorkspace(id, reason).catch(() => undefined);
      await this.stopVmOf(id, false).catch(() => undefined);
    }));
  }

  // ── network egress ──────────────────────────────────────────────────────

  private egressPolicyOf(workspaceId: string): EgressPolicy {
    return this.egressOverrides.get(workspaceId) ?? this.state.workspaces.find((w) => w.id === workspaceId)?.egress ?? { mode: 'off' };
  }

  private async storeEgress(workspaceId: string, policy: EgressPolicy): Promise<WorkspaceSnapshot> {
    const w = { ...this.workspace(workspaceId), egress: policy };
    this.state = { ...this.state, workspaces: this.state.workspaces.map((x) => (x.id === workspaceId ? w : x)) };
    await this.save();
    const snap = this.snapshotOf(w);
    this.emit({ event: 'workspace:changed', payload: snap });
    return snap;
  }

  /** Sets and stores the network policy; a running VM's proxy uses it at once. Bad patterns throw invalidArgument. */
  async setEgress(workspaceId: string, policy: EgressPolicy): Promise<WorkspaceSnapshot> {
    this.workspace(workspaceId);
    const valid = validatedPolicy(policy);
    this.egressOverrides.delete(workspaceId);
    await this.egress.applyPolicy(workspaceId, valid);
    return this.storeEgress(workspaceId, valid);
  }

  /** A policy for this process only, not stored (`viv run --allow`); set it before the VM starts. */
  useEgressForThisRun(workspaceId: string, policy: EgressPolicy): void {
    this.workspace(workspaceId);
    this.egressOverrides.set(workspaceId, validatedPolicy(policy));
  }

  /** The proxy environment for a command run outside the task queue (`viv run`); logged with the workspace's VM. */
  async egressEnvironment(workspaceId: string): Promise<Record<string, string>> {
    return this.egress.anonymousEnvironment(workspaceId);
  }

  /** The blocked requests waiting for an answer in the workspace's VM. */
  async egressPrompts(workspaceId: string): Promise<EgressPromptInfo[]> {
    this.workspace(workspaceId);
    return this.egress.prompts(workspaceId);
  }

  /** Answers a prompt; false when it no longer waits. */
  async answerEgress(workspaceId: string, promptId: string, answer: EgressAnswer): Promise<boolean> {
    this.workspace(workspaceId);
    return this.egress.answer(workspaceId, promptId, answer);
  }

  /** A task's network log. */
  async egressLog(taskId: string): Promise<EgressLog> {
    const task = this.tasks.get(taskId);
    return { taskId, ...(await this.egress.log(task.workspaceId, taskId)) };
  }

  /** A task's network log as JSON lines. */
  async exportEgressLog(taskId: string): Promise<{ taskId: string; jsonLines: string }> {
    const task = this.tasks.get(taskId);
    return { taskId, jsonLines: await this.egress.exportLog(task.workspaceId, taskId) };
  }
}

/** Compile-time proof that the core is what the window API needs (app/main/api/window-core.ts). */
export const asWindowCore = (core: Vivarium): WindowCore => core;
