/**
 * The core's side of network egress (DESIGN.md "Network egress"): one EgressSession per running
 * VM, started on every new guest connection whatever the policy (with the network off a request
 * is still refused and logged) and closed before the VM stops. It turns the proxy's events into
 * contract events, hands tasks their proxy environment and answers the window's prompt calls.
 */
import { join } from 'node:path';
import type { EgressPolicy, EgressPromptInfo, EgressRecordInfo } from '../../shared/contract-schemas.js';
import { VivError } from '../../shared/errors.js';
import type { CoreEvent } from '../api/window-core.js';
import { EGRESS_LOG_FILE, exportEgressLog, readEgressLog, type EgressRecord } from '../egress/egress-audit.js';
import type { PromptAnswer } from '../egress/decision-gate.js';
import { CompiledPolicy } from '../egress/egress-policy.js';
import type { EgressLimits } from '../egress/egress-proxy.js';
import { EgressSession } from '../egress/egress-session.js';
import { proxyEnvironment } from '../egress/task-credentials.js';
import type { GuestConnection } from '../guest/guest-connection.js';

/** What the hub needs from the core. */
export interface WorkspaceEgressOptions {
  tasksDir: string;
  vmDir: (workspaceId: string) => string;
  /** The policy in force for a workspace now. */
  policyOf: (workspaceId: string) => EgressPolicy;
  /** "Allow always" extended a workspace's policy: persist it and tell the windows. */
  onPolicyGranted: (workspaceId: string, policy: EgressPolicy) => void;
  emit: (event: CoreEvent) => void;
  /**
   * Whether blocked requests wait for a user's answer (the app) or are refused at once with
   * "nobody is there to ask" (the headless `viv`).
   */
  interactive: boolean;
  limits?: Partial<EgressLimits>;
  /** Guest port of the forward; default 3128. Tests pass 0 (their stand-in guest binds on the host). */
  guestPort?: number;
  /**
   * The host end of a VM's `egress` data channel, when it has one (the VM was started with a
   * `dataChannels` entry named "egress" and vivarium.egress=1): the relay is used then, the SSH
   * forward otherwise (or when the relay does not answer).
   */
  egressChannelOf?: (workspaceId: string) => string | null;
  /** How often record events are pushed, and how many per push at most (the log file keeps all). */
  recordFlushMs?: number;
  maxRecordsPerFlush?: number;
}

interface Entry {
  conn: GuestConnection;
  /** Null once starting failed (the reason is in `failure`). */
  session: Promise<EgressSession | null>;
  failure: string | null;
}

/** Validates a policy for storing; throws invalidArgument naming the bad pattern. Returns it normalised. */
export function validatedPolicy(policy: EgressPolicy): EgressPolicy {
  return CompiledPolicy.from(policy).toPolicy();
}

/** Every VM's egress session, keyed by workspace. */
export class WorkspaceEgress {
  private readonly entries = new Map<string, Entry>();
  private pendingRecords: EgressRecordInfo[] = [];
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: WorkspaceEgressOptions) {}

  /** A new guest connection: closes the previous session (if any) and starts one on it. */
  attach(workspaceId: string, conn: GuestConnection): void {
    const previous = this.entries.get(workspaceId);
    if (previous) void this.closeEntry(workspaceId, previous);
    const entry: Entry = { conn, session: Promise.resolve(null), failure: null };
    entry.session = this.startSession(workspaceId, conn).catch((e: unknown) => {
      entry.failure = e instanceof Error ? e.message : String(e);
      return null;
    });
    this.entries.set(workspaceId, entry);
    // A VM that dies (or a dropped connection) takes its session along.
    conn.once('close', () => {
      if (this.entries.get(workspaceId) === entry) void this.close(workspaceId);
    });
  }

  private async startSession(workspaceId: string, conn: GuestConnection): Promise<EgressSession> {
    const session = await EgressSession.start({
      workspaceId,
      policy: this.opts.policyOf(workspaceId),
      tasksDir: this.opts.tasksDir,
      vmDir: this.opts.vmDir(workspaceId),
      client: conn.sshClient,
      relayPath: this.opts.egressChannelOf?.(workspaceId) ?? null,
      limits: this.opts.limits,
      guestPort: this.opts.guestPort,
    });
    const proxy = session.proxy;
    // Listening for prompts is what makes the proxy ask instead of refusing (decision-gate.ts).
    if (this.opts.interactive) {
      proxy.on('prompt', (p) => this.opts.emit({ event: 'egress:prompt', payload: { ...p } }));
    }
    proxy.on('promptSettled', (promptId, outcome) => this.opts.emit({ event: 'egress:promptSettled', payload: { workspaceId, promptId, outcome } }));
    proxy.on('record', (r) => this.queueRecord(r));
    proxy.on('policy', (p) => this.opts.onPolicyGranted(workspaceId, p));
    return session;
  }

  private queueRecord(r: EgressRecord): void {
    const max = this.opts.maxRecordsPerFlush ?? 50;
    // Past the bound a burst is not pushed record by record; the window re-reads the log.
    if (this.pendingRecords.length < max) this.pendingRecords.push({ ...r });
    this.flushTimer ??= setTimeout(() => this.flushRecords(), this.opts.recordFlushMs ?? 250);
    this.flushTimer.unref();
  }

  private flushRecords(): void {
    this.flushTimer = null;
    const batch = this.pendingRecords;
    this.pendingRecords = [];
    for (const r of batch) this.opts.emit({ event: 'egress:record', payload: r });
  }

  private async session(workspaceId: string): Promise<EgressSession | null> {
    const e = this.entries.get(workspaceId);
    return e ? e.session : null;
  }

  /**
   * The proxy environment for a task about to start in the workspace's VM (empty when the
   * network is off). Throws unavailable when the policy allows hosts but the proxy could not start,
   * so the task fails with the cause instead of running without its network.
   */
  async taskEnvironment(workspaceId: string, taskId: string): Promise<Record<string, string>> {
    const s = await this.session(workspaceId);
    if (s) return s.taskEnvironment(taskId);
    const failure = this.entries.get(workspaceId)?.failure;
    if (failure && this.opts.policyOf(workspaceId).mode !== 'off') {
      throw new VivError('invalidState', `The network proxy for this workspace did not start: ${failure}`);
    }
    return {};
  }

  /**
   * The proxy environment for a command outside the task queue (`viv run`, a shell): no task
   * credentials, so its requests go to the workspace's own log (`vms/<id>/egress.jsonl`).
   * Empty when the network is off.
   */
  async anonymousEnvironment(workspaceId: string): Promise<Record<string, string>> {
    const s = await this.session(workspaceId);
    if (!s || s.proxy.policy.mode === 'off') return {};
    return proxyEnvironment();
  }

  /** Forgets a finished task's proxy credentials. */
  taskEnded(workspaceId: string, taskId: string): void {
    void this.session(workspaceId).then((s) => s?.taskEnded(taskId));
  }

  /** Applies a (validated) policy to the running VM's proxy, if any. */
  async applyPolicy(workspaceId: string, policy: EgressPolicy): Promise<void> {
    (await this.session(workspaceId))?.proxy.setPolicy(policy);
  }

  /** The prompts waiting in the workspace's VM. */
  async prompts(workspaceId: string): Promise<EgressPromptInfo[]> {
    return ((await this.session(workspaceId))?.proxy.prompts() ?? []).map((p) => ({ ...p }));
  }

  /** Answers a prompt; false when it no longer waits (or the VM is not running). */
  async answer(workspaceId: string, promptId: string, answer: PromptAnswer): Promise<boolean> {
    return (await this.session(workspaceId))?.proxy.answer(promptId, answer) ?? false;
  }

  /** A task's log, read from its folder (written records only: call after the session flushed or live). */
  async log(workspaceId: string | null, taskId: string): Promise<{ records: EgressRecordInfo[]; truncated: boolean }> {
    if (workspaceId) await (await this.session(workspaceId))?.audit.flush();
    const { records, truncated } = await readEgressLog(this.logPath(taskId));
    return { records, truncated };
  }

  /** A task's log as JSON lines. */
  async exportLog(workspaceId: string | null, taskId: string): Promise<string> {
    if (workspaceId) await (await this.session(workspaceId))?.audit.flush();
    return exportEgressLog(this.logPath(taskId));
  }

  private logPath(taskId: string): string {
    return join(this.opts.tasksDir, taskId, EGRESS_LOG_FILE);
  }

  /** Closes the workspace's session (before its VM stops): waiting prompts are refused, the log is written. */
  async close(workspaceId: string): Promise<void> {
    const e = this.entries.get(workspaceId);
    if (e) await this.closeEntry(workspaceId, e);
  }

  private async closeEntry(workspaceId: string, e: Entry): Promise<void> {
    if (this.entries.get(workspaceId) === e) this.entries.delete(workspaceId);
    const s = await e.session;
    await s?.close().catch(() => undefined);
  }

  /** Closes every session. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.close(id)));
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushRecords();
  }
}
