/**
 * The core's side of the API gateway (issue 10): one GatewaySession per connected VM that runs
 * an image with agents, started on every new guest connection and closed before the VM stops
 * (like WorkspaceEgress). It hands agent tasks their environment — base URLs on guest loopback and
 * a per-task placeholder key, never the user's key — and reads a task's gateway log.
 */
import { join } from 'node:path';
import type { GatewayRecordInfo } from '../../shared/contract-schemas.js';
import { VivError } from '../../shared/errors.js';
import type { ApiId } from '../gateway/gateway-apis.js';
import { GATEWAY_LOG_FILE, readGatewayLog } from '../gateway/gateway-audit.js';
import { GatewaySession } from '../gateway/gateway-session.js';
import type { UpstreamConfig } from '../gateway/api-gateway.js';
import type { KeyStore } from '../gateway/key-store.js';
import type { GuestConnection } from '../guest/guest-connection.js';

/** What the hub needs from the core. */
export interface WorkspaceGatewayOptions {
  tasksDir: string;
  vmDir: (workspaceId: string) => string;
  keys: KeyStore;
  /** Per-API upstream overrides (tests' stand-in servers, enterprise endpoints). */
  upstreams?: Partial<Record<ApiId, UpstreamConfig>>;
  /** Guest ports instead of the APIs' own (tests of a stand-in guest pass 0). */
  guestPorts?: Partial<Record<ApiId, number>>;
}

interface Entry {
  session: Promise<GatewaySession | null>;
  failure: string | null;
}

/** Every VM's gateway session, keyed by workspace. */
export class WorkspaceGateway {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: WorkspaceGatewayOptions) {}

  /** A new guest connection serving `apis` (none: no session): replaces the previous session. */
  attach(workspaceId: string, conn: GuestConnection, apis: readonly ApiId[]): void {
    const previous = this.entries.get(workspaceId);
    if (previous) void this.closeEntry(workspaceId, previous);
    if (apis.length === 0) return;
    const entry: Entry = { session: Promise.resolve(null), failure: null };
    entry.session = GatewaySession.start({
      workspaceId,
      apis,
      keys: this.opts.keys,
      tasksDir: this.opts.tasksDir,
      vmDir: this.opts.vmDir(workspaceId),
      client: conn.sshClient,
      upstreams: this.opts.upstreams,
      guestPorts: this.opts.guestPorts,
    }).catch((e: unknown) => {
      entry.failure = e instanceof Error ? e.message : String(e);
      return null;
    });
    this.entries.set(workspaceId, entry);
    conn.once('close', () => {
      if (this.entries.get(workspaceId) === entry) void this.close(workspaceId);
    });
  }

  /**
   * The environment pointing a task's agent at the gateways of `apis`. Throws invalidState
   * naming the cause when the VM has no gateway for them (it failed to start, or the VM runs an
   * image without agents).
   */
  async taskEnvironment(workspaceId: string, taskId: string, apis: readonly ApiId[]): Promise<Record<string, string>> {
    if (apis.length === 0) return {};
    const e = this.entries.get(workspaceId);
    const s = e ? await e.session : null;
    if (!s) {
      const why = e?.failure ? `it did not start: ${e.failure}` : 'this VM was started without it';
      throw new VivError('invalidState', `The API gateway for this workspace is not available (${why}).`);
    }
    try {
      return s.taskEnvironment(taskId, apis);
    } catch (err) {
      throw new VivError('invalidState', `The API gateway cannot serve this task: ${(err as Error).message}.`);
    }
  }

  /** Revokes a finished task's placeholder key. */
  taskEnded(workspaceId: string, taskId: string): void {
    void this.entries.get(workspaceId)?.session.then((s) => s?.taskEnded(taskId));
  }

  /** A task's API calls (written records; live sessions are flushed first). */
  async log(workspaceId: string | null, taskId: string): Promise<GatewayRecordInfo[]> {
    const e = workspaceId ? this.entries.get(workspaceId) : undefined;
    if (e) await (await e.session)?.audit.flush();
    return readGatewayLog(join(this.opts.tasksDir, taskId, GATEWAY_LOG_FILE));
  }

  /** Closes the workspace's session before its VM stops: forwards detached, open calls ended, log written. */
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
  }
}
