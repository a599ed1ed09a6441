/**
 * The core's wiring under the Vivarium facade: events, the VMs and their images, the task queue
 * with its executor, and what lives on each VM's connection — the egress proxy, the API gateway
 * — plus the user's API keys. vivarium.ts adds workspaces, consent and the rest of the facade.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type {
  ApiKeyStatus, EgressAnswer, EgressLog, EgressPolicy, EgressPromptInfo, GatewayRecordInfo, WorkspaceSnapshot,
} from '../../shared/contract-schemas.js';
import { VivError } from '../../shared/errors.js';
import type { CoreEvent } from '../api/window-core.js';
import { AGENT_PROFILES, agentInvocation, agentProfile, type AgentProfileSpec, type GuestImageKind } from '../agents/agent-profiles.js';
import type { EgressLimits } from '../egress/egress-proxy.js';
import type { UpstreamConfig } from '../gateway/api-gateway.js';
import type { ApiId } from '../gateway/gateway-apis.js';
import { API_NAMES, EnvKeyStore, KEY_ENV_VARS, type ManagedKeyStore } from '../gateway/key-store.js';
import type { GuestConnection } from '../guest/guest-connection.js';
import type { GuestArch } from '../image/guest-image.js';
import { STAMP_FILE } from '../image/standard-image.js';
import type { DataPaths } from '../paths.js';
import type { StoredWorkspace } from '../state/state-schema.js';
import { guestTaskExecutor, type PreparedRun } from '../tasks/guest-executor.js';
import { ClaudeStepsReader } from '../tasks/output-readers.js';
import { TaskManager, type TaskManagerOptions } from '../tasks/task-manager.js';
import { TaskStore } from '../tasks/task-store.js';
import type { TaskCommand } from '../tasks/task-types.js';
import type { HelperFactory } from '../vm/helper-process.js';
import type { BootPhase, VmLaunch, VmTimeouts } from '../vm/vm-instance.js';
import { validatedPolicy, WorkspaceEgress } from './workspace-egress.js';
import { WorkspaceGateway } from './workspace-gateway.js';
import { WorkspaceImages } from './workspace-images.js';
import type { WorkspaceState } from './workspace-state.js';
import { WorkspaceVms } from './workspace-vms.js';

/** How to open the core. */
export interface VivariumOptions {
  /** The data folder (Electron: userData; CLI: cliDataDir()). */
  dataDir: string;
  /** Spawns a helper process (the qemu-helper on Linux). */
  helperFactory: HelperFactory;
  /** Guest image folder (default: app/main/image's defaultGuestDir()). */
  guestDir?: string;
  /** Standard image folder (default: `guest-standard` beside guestDir). */
  standardDir?: string;
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
  /** The user's API keys (the app: safeStorage; the harness: memory; default: the environment, as `viv`). */
  keys?: ManagedKeyStore;
  /** Where the gateway sends each API's calls (default: the real APIs); tests point it at stand-ins. */
  gatewayUpstreams?: Partial<Record<ApiId, UpstreamConfig>>;
}

/** Events of the core beyond the window contract: boot progress (for `viv` and logs). */
export interface BootProgress {
  workspaceId: string;
  phase: BootPhase;
  elapsedMs: number;
}

/** The APIs a VM running `image` serves through its gateway: those its image's profiles need. */
export function gatewayApisFor(image: GuestImageKind): ApiId[] {
  return [...new Set(AGENT_PROFILES.filter((p) => p.image === image).flatMap((p) => p.apis))];
}

/** The wiring; see Vivarium. */
export abstract class VivariumBase {
  protected readonly events = new EventEmitter<{ event: [CoreEvent]; boot: [BootProgress]; connected: [string, GuestConnection] }>();
  readonly tasks: TaskManager;
  readonly keys: ManagedKeyStore;
  protected readonly vms: WorkspaceVms;
  private readonly images: WorkspaceImages;
  private readonly egress: WorkspaceEgress;
  private readonly gateway: WorkspaceGateway;
  /** Policies for this process only (`viv run --allow`), in place of the stored one. */
  private readonly egressOverrides = new Map<string, EgressPolicy>();

  protected constructor(protected readonly opts: VivariumOptions, readonly paths: DataPaths, protected readonly workspaces: WorkspaceState) {
    this.keys = opts.keys ?? new EnvKeyStore();
    this.egress = new WorkspaceEgress({
      tasksDir: paths.tasksDir,
      vmDir: (id) => paths.vmDir(id),
      policyOf: (id) => this.egressPolicyOf(id),
      onPolicyGranted: (id, policy) => void this.storeEgress(id, policy).catch(() => undefined),
      emit: (e) => this.emit(e),
      interactive: opts.interactiveEgress ?? true,
      limits: opts.egressLimits,
      // The relay when the VM was started with an `egress` data channel, else the SSH forward.
      egressChannelOf: (id) => this.vms.vm(id).dataChannelPath('egress'),
    });
    this.gateway = new WorkspaceGateway({ tasksDir: paths.tasksDir, vmDir: (id) => paths.vmDir(id), keys: this.keys, upstreams: opts.gatewayUpstreams });
    this.vms = new WorkspaceVms({
      vmDir: (id) => paths.vmDir(id),
      helperFactory: opts.helperFactory,
      guestDir: opts.guestDir,
      standardDir: opts.standardDir,
      stampFile: join(paths.root, STAMP_FILE),
      guestArch: opts.guestArch,
      vmTimeouts: opts.vmTimeouts,
      launchOf: (id, running) => this.launchOf(id, running),
      keepStateOf: (id) => this.workspaces.find(id)?.settings.keepState ?? false,
      // Both sessions close while SSH is up: prompts refused, open API calls ended, logs written.
      beforeStop: async (id) => {
        await Promise.all([this.egress.close(id), this.gateway.close(id)]);
      },
      onChanged: (id) => {
        const w = this.workspaces.find(id);
        if (w) this.emit({ event: 'workspace:changed', payload: this.snapshotOf(w) });
      },
      onPhase: (workspaceId, phase, elapsedMs) => this.events.emit('boot', { workspaceId, phase, elapsedMs }),
      onConnected: (id, conn, image) => {
        this.egress.attach(id, conn);
        this.gateway.attach(id, conn, gatewayApisFor(image));
        this.events.emit('connected', id, conn);
      },
    });
    this.images = new WorkspaceImages(this.vms);
    const executor = guestTaskExecutor((cmd, status) => this.prepareRun(cmd, status));
    this.tasks = new TaskManager(new TaskStore(paths.tasksDir), executor, {
      ...opts.tasks,
      readerFor: (t, onStep) => (profileOrNull(t.profileId)?.output === 'claude-stream-json' ? new ClaudeStepsReader(onStep) : null),
    });
    this.tasks.on('changed', (t) => {
      if (t.endedAt !== null) {
        this.egress.taskEnded(t.workspaceId, t.id);
        this.gateway.taskEnded(t.workspaceId, t.id);
      }
      this.emit({ event: 'task:changed', payload: t });
    });
    this.tasks.on('output', (c) => this.emit({ event: 'task:output', payload: c }));
    this.tasks.on('step', (r) => this.emit({ event: 'task:step', payload: r }));
  }

  /** The folder share and sizing of a workspace's next boot; checks its grant (unless the VM already runs). */
  protected abstract launchOf(workspaceId: string, alreadyRunning: boolean): Promise<VmLaunch>;

  /**
   * A task's VM (booted or switched to the image its profile needs), command line and
   * environment: the egress proxy's, the gateway's base URLs and placeholder key — never a key.
   */
  private async prepareRun(cmd: TaskCommand, status: (line: string) => void): Promise<PreparedRun> {
    const profile = agentProfile(cmd.profileId);
    const lease = await this.images.acquire(cmd.workspaceId, profile.image, status);
    try {
      const egressEnv = await this.egress.taskEnvironment(cmd.workspaceId, cmd.taskId);
      const gatewayEnv = await this.gateway.taskEnvironment(cmd.workspaceId, cmd.taskId, profile.apis);
      const inv = agentInvocation(cmd.profileId, cmd.command, gatewayEnv);
      return { conn: lease.conn, command: inv.command, env: { ...egressEnv, ...inv.env }, release: lease.release };
    } catch (e) {
      lease.release();
      throw e;
    }
  }

  protected emit(e: CoreEvent): void {
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

  /** Every new guest connection (each boot, each reconnect). Returns the unsubscriber. */
  onGuestConnected(listener: (workspaceId: string, conn: GuestConnection) => void): () => void {
    this.events.on('connected', listener);
    return () => this.events.off('connected', listener);
  }

  protected snapshotOf(w: StoredWorkspace): WorkspaceSnapshot {
    return { id: w.id, name: w.name, grant: w.grant, vm: this.vms.snapshot(w.id), settings: w.settings, egress: this.egressPolicyOf(w.id) };
  }

  /** Announces a changed workspace; returns its snapshot. */
  protected changed(w: StoredWorkspace): WorkspaceSnapshot {
    const snap = this.snapshotOf(w);
    this.emit({ event: 'workspace:changed', payload: snap });
    return snap;
  }

  /** Closes every VM's egress and gateway session (after the VMs stopped: delivers the last records). */
  protected async closeSessions(): Promise<void> {
    await Promise.all([this.egress.closeAll(), this.gateway.closeAll()]);
  }

  // ── API keys and the gateway ────────────────────────────────────────────

  /** Whether each API's key is available (never the key). */
  async listKeys(): Promise<ApiKeyStatus[]> {
    return this.keys.list();
  }

  /** Stores the user's key for an API (validated; the reply never carries it). */
  async setKey(api: ApiId, key: string): Promise<ApiKeyStatus> {
    return this.keys.set(api, key);
  }

  async clearKey(api: ApiId): Promise<ApiKeyStatus> {
    return this.keys.clear(api);
  }

  /** Refuses a profile whose APIs have no key on this computer, naming where to put it. */
  protected async requireKeys(profile: AgentProfileSpec): Promise<void> {
    for (const api of profile.apis) {
      if (await this.keys.keyFor(api)) continue;
      throw new VivError('invalidState', `${profile.name} needs your ${API_NAMES[api]} API key, and none is stored on this computer. Add it in Settings → API keys (for viv: set ${KEY_ENV_VARS[api]}). It stays on the host; the VM never sees it.`);
    }
  }

  /** A task's calls through the API gateway. */
  async gatewayLog(taskId: string): Promise<GatewayRecordInfo[]> {
    const task = this.tasks.get(taskId);
    return this.gateway.log(task.workspaceId, taskId);
  }

  // ── network egress ──────────────────────────────────────────────────────

  protected egressPolicyOf(workspaceId: string): EgressPolicy {
    return this.egressOverrides.get(workspaceId) ?? this.workspaces.find(workspaceId)?.egress ?? { mode: 'off' };
  }

  private async storeEgress(workspaceId: string, policy: EgressPolicy): Promise<WorkspaceSnapshot> {
    return this.changed(await this.workspaces.update(workspaceId, { egress: policy }));
  }

  /** Sets and stores the network policy; a running VM's proxy uses it at once. Bad patterns throw invalidArgument. */
  async setEgress(workspaceId: string, policy: EgressPolicy): Promise<WorkspaceSnapshot> {
    this.workspaces.get(workspaceId);
    const valid = validatedPolicy(policy);
    this.egressOverrides.delete(workspaceId);
    await this.egress.applyPolicy(workspaceId, valid);
    return this.storeEgress(workspaceId, valid);
  }

  /** A policy for this process only, not stored (`viv run --allow`); set it before the VM starts. */
  useEgressForThisRun(workspaceId: string, policy: EgressPolicy): void {
    this.workspaces.get(workspaceId);
    this.egressOverrides.set(workspaceId, validatedPolicy(policy));
  }

  /** The proxy environment for a command run outside the task queue (`viv run`); logged with the workspace's VM. */
  async egressEnvironment(workspaceId: string): Promise<Record<string, string>> {
    return this.egress.anonymousEnvironment(workspaceId);
  }

  /** The blocked requests waiting for an answer in the workspace's VM. */
  async egressPrompts(workspaceId: string): Promise<EgressPromptInfo[]> {
    this.workspaces.get(workspaceId);
    return this.egress.prompts(workspaceId);
  }

  /** Answers a prompt; false when it no longer waits. */
  async answerEgress(workspaceId: string, promptId: string, answer: EgressAnswer): Promise<boolean> {
    this.workspaces.get(workspaceId);
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

function profileOrNull(id: string | null): AgentProfileSpec | null {
  try {
    return agentProfile(id);
  } catch {
    return null;
  }
}
