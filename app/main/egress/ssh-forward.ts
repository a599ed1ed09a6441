/**
 * Attaching a VM's proxy to its SSH connection (DESIGN.md "Network egress"): ask the guest's
 * SSH server for a remote forward of guest 127.0.0.1:3128 (`tcpip-forward`), then serve every
 * connection the guest makes to it as one proxy client. The guest itself has no network
 * interface; this forward is its only way out, and the proxy decides what passes.
 */
import type { Client, ClientChannel, TcpConnectionDetails } from 'ssh2';
import type { ConnectionTag, EgressProxy } from './egress-proxy.js';
import { GUEST_PROXY_HOST, GUEST_PROXY_PORT } from './task-credentials.js';

/** Options of `attachEgressForward`. */
export interface ForwardOptions {
  /** Guest address to listen on (default 127.0.0.1; MUST stay loopback). */
  bindHost?: string;
  /** Guest port (default 3128; 0 lets the guest pick, reported in `port`). */
  port?: number;
  /** Tags a connection (e.g. by guest source port) when the caller can tell its task. */
  tagOf?: (info: TcpConnectionDetails) => ConnectionTag;
}

/** A live forward. */
export interface EgressForward {
  /** The guest port actually bound. */
  readonly port: number;
  /** Stops the guest listening. Connections already open are left to the proxy's `close`. */
  detach(): Promise<void>;
}

/**
 * Sets up the forward on an authenticated ssh2 client. Only connections to the bound address
 * and port are taken; other forwards on the same client are left to their own listeners.
 * Rejects with the guest's refusal (e.g. a server built without remote forwarding).
 */
export async function attachEgressForward(client: Client, proxy: Pick<EgressProxy, 'serve'>, opts: ForwardOptions = {}): Promise<EgressForward> {
  const bindHost = opts.bindHost ?? GUEST_PROXY_HOST;
  const port = await new Promise<number>((resolve, reject) => {
    client.forwardIn(bindHost, opts.port ?? GUEST_PROXY_PORT, (err, bound) => (err ? reject(new Error(`the guest refused to forward ${bindHost}:${opts.port ?? GUEST_PROXY_PORT}: ${err.message}`)) : resolve(bound || (opts.port ?? GUEST_PROXY_PORT))));
  });
  const onConnection = (info: TcpConnectionDetails, accept: () => ClientChannel): void => {
    if (info.destPort !== port || info.destIP !== bindHost) return;
    const channel = accept();
    void proxy.serve(channel, opts.tagOf?.(info) ?? {});
  };
  client.on('tcp connection', onConnection);
  return {
    port,
    detach: () =>
      new Promise<void>((resolve) => {
        client.off('tcp connection', onConnection);
        // An ended connection cannot unbind; there is nothing left to stop then.
        try {
          client.unforwardIn(bindHost, port, () => resolve());
        } catch {
          resolve();
        }
      }),
  };
}
