/**
 * Attaching a VM's proxy to its egress relay (issue 7's fast path): the guest's vrelay listens
 * on 127.0.0.1:3128 and carries each connection over the VM's `egress` data channel as plain
 * frames (no SSH crypto or windows in the way); every stream is served by the same
 * `EgressProxy.serve` as an SSH-forwarded one, so policy, prompts, audit and limits are shared.
 *
 * A session that ends by itself (vrelay restarted and said GOAWAY, a protocol error, the
 * socket dropped) is reopened with a new HELLO after a short pause, until `detach`.
 */
import type { ConnectionTag, EgressProxy } from './egress-proxy.js';
import { RelayChannel, type RelayChannelOptions } from './relay-channel.js';
import type { EgressForward } from './ssh-forward.js';

/** A live relay attachment. */
export interface EgressRelay extends EgressForward {
  /** The session in use now (replaced after a reconnect). */
  readonly channel: RelayChannel;
  /** Sessions opened so far (1 + reconnects). */
  readonly sessions: number;
}

/** Options of `attachEgressRelay`. */
export interface RelayAttachOptions extends RelayChannelOptions {
  tag?: ConnectionTag;
  /** Hears every session end that was not asked for, with its reason. */
  onSessionEnd?: (reason: Error | null) => void;
  /** Pause before reopening an ended session (default 1 s). */
  reconnectDelayMs?: number;
}

/**
 * Opens the relay session on the data channel at `path` and serves every guest connection with
 * `proxy`. Rejects when the guest does not answer (no vrelay) or cannot listen on its port.
 */
export async function attachEgressRelay(path: string, proxy: Pick<EgressProxy, 'serve'>, opts: RelayAttachOptions = {}): Promise<EgressRelay> {
  let detached = false;
  let sessions = 0;
  let timer: NodeJS.Timeout | null = null;
  const open = async (): Promise<RelayChannel> => {
    const ch = await RelayChannel.connect(path, opts);
    sessions++;
    ch.on('stream', (s) => void proxy.serve(s, opts.tag ?? {}));
    ch.once('close', (reason) => {
      if (detached) return;
      opts.onSessionEnd?.(reason);
      retry();
    });
    return ch;
  };
  const retry = (): void => {
    timer = setTimeout(() => {
      timer = null;
      if (detached) return;
      open().then(
        (ch) => {
          if (detached) ch.close();
          else channel = ch;
        },
        (e: unknown) => {
          opts.onSessionEnd?.(e instanceof Error ? e : new Error(String(e)));
          retry();
        },
      );
    }, opts.reconnectDelayMs ?? 1_000);
    timer.unref();
  };
  let channel = await open();
  return {
    get channel() {
      return channel;
    },
    get sessions() {
      return sessions;
    },
    port: channel.guest.listenPort,
    detach: async () => {
      detached = true;
      if (timer) clearTimeout(timer);
      channel.close();
    },
  };
}
