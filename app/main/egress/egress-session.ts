/**
 * Egress for one running VM, assembled for the core: the proxy, its audit log in the data
 * folder (`tasks/<id>/egress.jsonl`, and `vms/<workspace>/egress.jsonl` for requests no task
 * can be tied to), and the way guest 127.0.0.1:3128 reaches it: the egress relay over the VM's
 * `egress` data channel when the VM has one (relay-egress.ts, the fast path), else the SSH
 * remote forward (ssh-forward.ts). The core starts one when
 * the VM's SSH connection is up — whatever the policy, so that with the network off a request
 * is still refused and logged — and closes it when the VM stops.
 */
import { join } from 'node:path';
import type { Client } from 'ssh2';
import { EgressAuditLog, EGRESS_LOG_FILE } from './egress-audit.js';
import type { EgressPolicy } from './egress-policy.js';
import { EgressProxy, type EgressLimits } from './egress-proxy.js';
import { attachEgressRelay } from './relay-egress.js';
import { attachEgressForward, type EgressForward } from './ssh-forward.js';
import { proxyEnvironment } from './task-credentials.js';
import type { Resolver } from './upstream.js';

/** What a session needs. */
export interface EgressSessionOptions {
  workspaceId: string;
  policy: EgressPolicy;
  /** The data folder's `tasks/` (see paths.ts). */
  tasksDir: string;
  /** The VM's folder `vms/<workspaceId>/`, home of the unattributed log. */
  vmDir: string;
  /** The VM's authenticated SSH connection (for the SSH forward; needed unless `relayPath` is given). */
  client?: Client;
  /**
   * The host end of the VM's `egress` data channel (guest booted with vivarium.egress=1). When
   * set, the relay is used; if it cannot start and `client` is given, the SSH forward is.
   */
  relayPath?: string | null;
  /** How long the relay waits for the guest's answer (default 30 s). */
  relayHelloTimeoutMs?: number;
  limits?: Partial<EgressLimits>;
  resolver?: Resolver;
  /** Guest port to forward; default 3128. Tests pass 0 to let the guest pick. */
  guestPort?: number;
}

/** How the guest reaches the proxy. */
export type EgressTransport = 'relay' | 'ssh-forward';

/** One VM's egress: listen to `proxy` for prompts, records and policy changes. */
export class EgressSession {
  private constructor(
    readonly proxy: EgressProxy,
    readonly audit: EgressAuditLog,
    private readonly forward: EgressForward,
    /** The path in use. */
    readonly transport: EgressTransport,
    /** Why the relay was not used although the VM has its channel (null otherwise). */
    readonly relayFailure: string | null,
  ) {}

  /** Creates the proxy and asks the guest for the forward. Rejects when the guest refuses it. */
  static async start(o: EgressSessionOptions): Promise<EgressSession> {
    const audit = new EgressAuditLog({ tasksDir: o.tasksDir, unattributedPath: join(o.vmDir, EGRESS_LOG_FILE) });
    const proxy = new EgressProxy({ workspaceId: o.workspaceId, policy: o.policy, audit, limits: o.limits, resolver: o.resolver });
    try {
      let relayFailure: string | null = null;
      if (o.relayPath) {
        try {
          const relay = await attachEgressRelay(o.relayPath, proxy, { helloTimeoutMs: o.relayHelloTimeoutMs });
          return new EgressSession(proxy, audit, relay, 'relay', null);
        } catch (e) {
          relayFailure = e instanceof Error ? e.message : String(e);
          if (!o.client) throw e;
        }
      }
      if (!o.client) throw new Error('egress needs the VM\'s SSH connection or its egress relay channel');
      const forward = await attachEgressForward(o.client, proxy, { port: o.guestPort });
      return new EgressSession(proxy, audit, forward, 'ssh-forward', relayFailure);
    } catch (e) {
      await proxy.close();
      throw e;
    }
  }

  /** The guest port being forwarded. */
  get guestPort(): number {
    return this.forward.port;
  }

  /**
   * The environment for a task when its workspace has network (empty when the policy is off,
   * so tools fail fast instead of asking a proxy that refuses). Requests carrying the task's
   * credentials are logged under it; call `taskEnded` when it ends.
   */
  taskEnvironment(taskId: string): Record<string, string> {
    if (this.proxy.policy.mode === 'off') return {};
    const env = proxyEnvironment({ taskId, token: this.proxy.issueTaskToken(taskId) });
    if (this.forward.port === 3128) return env;
    // Only tests forward another port; rewrite the URLs to match.
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replace(':3128', `:${this.forward.port}`)]));
  }

  /** Forgets a finished task's proxy credentials. */
  taskEnded(taskId: string): void {
    this.proxy.revokeTaskToken(taskId);
  }

  /** Stops the forward, closes every proxied connection and waits for the log to be written. */
  async close(): Promise<void> {
    await this.forward.detach().catch(() => undefined);
    await this.proxy.close();
    await this.audit.flush();
  }
}
