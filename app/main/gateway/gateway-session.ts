/**
 * The API gateways of one running VM, assembled for the core: one gateway per API, each on its
 * own guest loopback port forwarded over the VM's SSH connection (the same remote-forward
 * attachment as the egress proxy), one shared placeholder-key registry, and the audit log in
 * the data folder (`tasks/<id>/gateway.jsonl`; `vms/<workspace>/gateway.jsonl` otherwise).
 */
import { join } from 'node:path';
import type { Client } from 'ssh2';
import { attachEgressForward, type EgressForward } from '../egress/ssh-forward.js';
import { ApiGateway, type UpstreamConfig } from './api-gateway.js';
import { GATEWAY_APIS, GATEWAY_GUEST_HOST, type ApiId } from './gateway-apis.js';
import { GatewayAuditLog, GATEWAY_LOG_FILE } from './gateway-audit.js';
import { GatewayCallers } from './gateway-callers.js';
import type { KeyStore } from './key-store.js';

/** What a session needs. */
export interface GatewaySessionOptions {
  workspaceId: string;
  /** The APIs to serve (the union of what the VM's profiles need). */
  apis: readonly ApiId[];
  keys: KeyStore;
  /** The data folder's `tasks/`. */
  tasksDir: string;
  /** The VM's folder `vms/<workspaceId>/`. */
  vmDir: string;
  /** The VM's authenticated SSH connection. */
  client: Client;
  /** Per-API upstream overrides (tests, enterprise endpoints). */
  upstreams?: Partial<Record<ApiId, UpstreamConfig>>;
  /** Guest ports to forward instead of the APIs' own; tests pass 0 to let the guest pick. */
  guestPorts?: Partial<Record<ApiId, number>>;
}

interface Served {
  gateway: ApiGateway;
  forward: EgressForward;
}

/** One VM's gateways. */
export class GatewaySession {
  private constructor(
    readonly audit: GatewayAuditLog,
    private readonly callers: GatewayCallers,
    private readonly served: ReadonlyMap<ApiId, Served>,
  ) {}

  /** Starts a gateway per API and asks the guest for its forwards; on any failure nothing is left running. */
  static async start(o: GatewaySessionOptions): Promise<GatewaySession> {
    const audit = new GatewayAuditLog({ tasksDir: o.tasksDir, unattributedPath: join(o.vmDir, GATEWAY_LOG_FILE) });
    const callers = new GatewayCallers();
    const served = new Map<ApiId, Served>();
    try {
      for (const id of new Set(o.apis)) {
        const api = GATEWAY_APIS[id];
        const gateway = new ApiGateway({ workspaceId: o.workspaceId, api, keys: o.keys, callers, audit, upstream: o.upstreams?.[id] });
        // The forward hands each guest connection to `serve(stream)`: the gateway has that shape.
        const forward = await attachEgressForward(o.client, gateway, { bindHost: GATEWAY_GUEST_HOST, port: o.guestPorts?.[id] ?? api.guestPort }).catch(async (e: Error) => {
          await gateway.close();
          throw e;
        });
        served.set(id, { gateway, forward });
      }
    } catch (e) {
      for (const s of served.values()) {
        await s.forward.detach().catch(() => undefined);
        await s.gateway.close();
      }
      throw e;
    }
    return new GatewaySession(audit, callers, served);
  }

  /** The guest port each API is forwarded on. */
  guestPort(api: ApiId): number | null {
    return this.served.get(api)?.forward.port ?? null;
  }

  /**
   * The environment that points a task's agent at the gateways of `apis`: base URLs on guest
   * loopback and a per-task placeholder key. Never contains the user's key. Throws for an API
   * this session does not serve (the profile asked for more than the VM was started with).
   */
  taskEnvironment(taskId: string, apis: readonly ApiId[]): Record<string, string> {
    if (apis.length === 0) return {};
    const placeholder = this.callers.issue(taskId);
    const env: Record<string, string> = {};
    for (const id of apis) {
      const port = this.guestPort(id);
      if (port === null) throw new Error(`this VM's gateway does not serve the ${id} API`);
      Object.assign(env, GATEWAY_APIS[id].agentEnv(`http://${GATEWAY_GUEST_HOST}:${port}`, placeholder));
    }
    return env;
  }

  /** Revokes a finished task's placeholder key. */
  taskEnded(taskId: string): void {
    this.callers.revoke(taskId);
  }

  /** Stops the forwards, ends open calls and waits for the log. */
  async close(): Promise<void> {
    for (const s of this.served.values()) {
      await s.forward.detach().catch(() => undefined);
      await s.gateway.close();
    }
    await this.audit.flush();
  }
}
