/**
 * The one SSH connection to a VM's guest (DESIGN.md "The agent channel"): ssh2 over the
 * helper's channel endpoint (a 0600 unix socket), the guest host key pinned, the per-VM client
 * key. Every command, task and shell is a channel on this connection — the virtio-serial
 * endpoint serves one client at a time, so there MUST NOT be a second connection.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { Client, type ClientChannel } from 'ssh2';
import { VivError } from '../../shared/errors.js';
import { hostKeyVerifier } from '../image/vm-keys.js';
import { wrapCommand } from './remote-command.js';

/** How to reach and authenticate to a guest. */
export interface GuestEndpoint {
  /** The helper's channel endpoint (unix socket path). */
  socketPath: string;
  /** The VM's client private key (OpenSSH PEM). */
  privateKey: string;
  /** The pinned guest host public key line; any other key is refused. */
  hostPublicKey: string;
  username?: string;
}

/** Options of `GuestConnection.open`. */
export interface ConnectOptions {
  /** Give up (timeout) after this long; the guest may still be booting meanwhile. */
  timeoutMs: number;
  /** Longest single handshake attempt before retrying. */
  attemptMs?: number;
  /** Stops retrying early (e.g. the VM exited); the reason becomes the error. */
  abort?: AbortSignal;
}

/** Options of one exec. */
export interface ExecOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Records the command's pid in the guest (see remote-command.ts) so it can be signalled. */
  pidFile?: string;
  /** Allocate a terminal of this size (interactive shells). */
  pty?: { cols: number; rows: number; term?: string };
  /** Pass the channel's stdin to the command (default: /dev/null, except with a pty). */
  stdin?: boolean;
}

/** A command running over the connection. `exit` resolves after all output was delivered. */
export interface GuestExec {
  readonly channel: ClientChannel;
  readonly stdout: ClientChannel;
  readonly stderr: Readable;
  readonly exit: Promise<{ exitCode: number | null; signal: string | null }>;
}

const DEFAULT_CWD = '/workspace';

/** One authenticated SSH connection. Emits `close` once when it ends for any reason. */
export class GuestConnection extends EventEmitter<{ close: [] }> {
  private ended = false;
  private lifecycle: Promise<void> = Promise.resolve();

  private constructor(private readonly client: Client) {
    super();
    const end = (): void => {
      if (this.ended) return;
      this.ended = true;
      this.emit('close');
    };
    client.on('close', end);
    client.on('end', end);
    client.on('error', () => end());
  }

  /**
   * The underlying ssh2 client, for port forwards (the egress proxy's `tcpip-forward`).
   * Exec and shell channels MUST go through `exec`, which orders channel openings around
   * the guest server's bug (see `serialized`).
   */
  get sshClient(): Client {
    return this.client;
  }

  /** True once the connection has ended; open a new one after the guest restarts. */
  get closed(): boolean {
    return this.ended;
  }

  /**
   * Connects, retrying until the guest answers with the pinned host key or the timeout passes.
   * A host key mismatch fails at once: that is an attack or a wrong VM, never a boot delay.
   */
  static async open(ep: GuestEndpoint, o: ConnectOptions): Promise<GuestConnection> {
    const deadline = Date.now() + o.timeoutMs;
    let last: Error | null = null;
    let attempts = 0;
    while (Date.now() < deadline) {
      if (o.abort?.aborted) throw toAbortError(o.abort);
      attempts++;
      const budget = Math.min(o.attemptMs ?? 10_000, Math.max(1000, deadline - Date.now()));
      try {
        return new GuestConnection(await attempt(ep, budget, o.abort));
      } catch (e) {
        if (e instanceof VivError && (e.code === 'invalidState' || o.abort?.aborted)) throw e;
        last = e as Error;
      }
      await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - Date.now()))));
    }
    throw new VivError('timeout', `The guest did not answer over SSH within ${Math.round(o.timeoutMs / 1000)} s (${attempts} attempts; last error: ${last?.message ?? 'none'}).`, last ?? undefined);
  }

  /** Starts a command in the guest (default cwd /workspace). */
  async exec(command: string, o: ExecOptions = {}): Promise<GuestExec> {
    if (this.ended) throw new VivError('invalidState', 'The connection to the guest is closed.');
    const onceToken = randomBytes(12).toString('hex');
    const hold = !o.pty;
    const text = wrapCommand(command, { cwd: o.cwd ?? DEFAULT_CWD, env: o.env, pidFile: o.pidFile, onceToken, holdUntilClientEof: hold, stdin: o.stdin });
    const opts = o.pty ? { pty: { cols: o.pty.cols, rows: o.pty.rows, term: o.pty.term ?? 'xterm-256color' } } : {};
    const channel = await this.serialized(() => this.openExecChannel(text, opts));
    if (hold) {
      // The command ended (its stdout/stderr closed; ssh2 ends the stream on the server's EOF,
      // once the caller has read stdout): let the session process exit now, at a moment when
      // no channel is being opened.
      channel.once('end', () => {
        void this.serialized(
          () => new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 3000);
            channel.once('close', () => {
              clearTimeout(t);
              resolve();
            });
            // eof(), not end(): ssh2 may follow end() with CLOSE at once, and the server's
            // exit-status must still arrive on an open channel.
            channel.eof();
          }),
        );
      });
    }
    // The token's empty folder stays in the guest's RAM-backed /tmp until the VM stops: removing
    // it would cost one more channel per command, and channel churn is what trips dropbear.
    const exit = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) => {
      let exitCode: number | null = null;
      let signal: string | null = null;
      channel.on('exit', (code: number | null, sig?: string) => {
        exitCode = typeof code === 'number' ? code : null;
        signal = sig ? (sig.startsWith('SIG') ? sig : `SIG${sig}`) : null; // Node's spelling: SIGKILL
      });
      channel.on('close', () => resolve({ exitCode, signal }));
    });
    return { channel, stdout: channel, stderr: channel.stderr, exit };
  }

  /**
   * Runs channel openings and session endings one at a time. Dropbear 2022.83 closes a channel
   * that is being opened when a session process exits at that moment (mkj/dropbear#321): with
   * every session process exiting only when we end it (holdUntilClientEof), the two never overlap.
   */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lifecycle.then(fn, fn);
    this.lifecycle = run.then(() => undefined, () => undefined);
    return run;
  }

  /**
   * Opens an exec channel, working around dropbear 2022.83 (the guest's SSH server), which
   * sometimes closes a fresh channel before its exec request when another channel's process
   * exits at that moment (mkj/dropbear#321, fixed in 2024.86 by PR #326; reproduced here with
   * Debian's dropbear on the host, no VM involved). ssh2 then reports "Unable to exec". The
   * server may still have started the command, so the retry carries the same once-token: it
   * either runs the command (the first attempt never did) or ends with ALREADY_STARTED_EXIT
   * and says on stderr that the command already started (its outcome is then unknown).
   */
  private async openExecChannel(text: string, opts: object): Promise<ClientChannel> {
    for (let attempt = 1; ; attempt++) {
      let ch: ClientChannel;
      try {
        ch = await new Promise<ClientChannel>((resolve, reject) => {
          if (this.ended) return reject(new VivError('invalidState', 'The connection to the guest is closed.'));
          this.client.exec(text, opts, (err, c) => (err ? reject(err) : resolve(c)));
        });
      } catch (e) {
        if (e instanceof VivError) throw e;
        const msg = (e as Error).message;
        if (attempt < 8 && /Unable to exec/.test(msg) && !this.ended) {
          await new Promise((r) => setTimeout(r, 10 * attempt));
          continue;
        }
        throw new VivError('internal', `The guest refused to run a command: ${msg}`, e);
      }
      return ch;
    }
  }

  /** Runs a command to completion and collects its output (bounded to 1 MiB each). */
  async run(command: string, o: ExecOptions = {}): Promise<{ stdout: string; stderr: string; exitCode: number | null; signal: string | null }> {
    const ex = await this.exec(command, o);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    ex.stdout.on('data', (b: Buffer) => {
      if ((outLen += b.length) <= 1 << 20) out.push(b);
    });
    ex.stderr.on('data', (b: Buffer) => {
      if ((errLen += b.length) <= 1 << 20) err.push(b);
    });
    const status = await ex.exit;
    return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ...status };
  }

  /** Ends the connection. */
  close(): void {
    this.client.end();
    // ssh2's end() waits for the peer; destroy the socket soon after so a dead guest cannot hold us.
    setTimeout(() => this.client.destroy(), 500).unref();
  }
}

function toAbortError(signal: AbortSignal): VivError {
  const r: unknown = signal.reason;
  return r instanceof VivError ? r : new VivError('invalidState', r instanceof Error ? r.message : 'Connecting to the guest was cancelled.');
}

/** One handshake attempt over a fresh socket. */
function attempt(ep: GuestEndpoint, budgetMs: number, abort?: AbortSignal): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let sock: Socket | null = null;
    let settled = false;
    let hostKeyRejected = false;
    const verify = hostKeyVerifier(ep.hostPublicKey);
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      abort?.removeEventListener('abort', onAbort);
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.destroy();
      sock?.destroy();
      reject(e);
    };
    const onAbort = (): void => fail(toAbortError(abort!));
    const timer = setTimeout(() => fail(new Error(`no SSH handshake within ${budgetMs} ms`)), budgetMs);
    abort?.addEventListener('abort', onAbort, { once: true });
    sock = netConnect(ep.socketPath);
    sock.once('error', (e) => fail(e));
    sock.once('connect', () => {
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        abort?.removeEventListener('abort', onAbort);
        client.removeAllListeners('error');
        resolve(client);
      });
      client.once('error', (e) => {
        if (hostKeyRejected) fail(new VivError('invalidState', `The guest presented a host key that is not the one pinned for this VM; refusing to connect (${ep.socketPath}).`, e));
        else fail(e);
      });
      client.connect({
        sock: sock!,
        username: ep.username ?? 'root',
        privateKey: ep.privateKey,
        readyTimeout: budgetMs,
        // A guest SSH server that dies without closing the stream (virtio-serial keeps the host
        // socket open) is noticed by keepalives: ~20 s, generous for a busy TCG guest.
        keepaliveInterval: 5000,
        keepaliveCountMax: 4,
        hostVerifier: (key: Buffer) => {
          const ok = verify(key);
          if (!ok) hostKeyRejected = true;
          return ok;
        },
      });
    });
  });
}
