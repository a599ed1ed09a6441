/**
 * Test helper: one ssh2 connection to a guest over a unix-socket channel (QEMU's virtio-serial
 * chardev), pinned to the guest's host key, retried until a deadline while the guest boots.
 */
import { connect as netConnect } from 'node:net';
import { Client } from 'ssh2';
import { hostKeyVerifier } from '../../app/main/image/vm-keys.js';

/** What an exec returned. */
export interface ExecResult {
  code: number | null;
  signal: string | undefined;
  stdout: string;
  stderr: string;
}

/** An open SSH session to a guest. */
export interface GuestSsh {
  client: Client;
  /** Runs a command on a new channel of the one connection. */
  exec(command: string, stdin?: Buffer | string): Promise<ExecResult>;
  close(): void;
}

export interface ConnectOptions {
  socketPath: string;
  privateKey: string;
  hostPublicKey: string;
  /** Overall deadline for reaching an authenticated session. */
  timeoutMs: number;
  /** Per-attempt handshake budget. */
  attemptTimeoutMs?: number;
}

/** Connects once (no retry); rejects with the ssh2 or socket error. */
export function connectOnce(o: ConnectOptions): Promise<GuestSsh> {
  return new Promise((resolve, reject) => {
    const sock = netConnect(o.socketPath);
    const client = new Client();
    let settled = false;
    const fail = (e: Error): void => {
      if (settled) return;
      settled = true;
      client.end();
      sock.destroy();
      reject(e);
    };
    // `on`, not `once`: ssh2 may emit a second error after the first; after settling they are ignored.
    sock.on('error', fail);
    client.on('error', fail);
    client.once('close', () => fail(new Error('connection closed before ready')));
    client.once('ready', () => {
      settled = true;
      resolve(wrap(client, sock));
    });
    sock.once('connect', () => {
      client.connect({
        sock,
        username: 'root',
        privateKey: o.privateKey,
        hostVerifier: hostKeyVerifier(o.hostPublicKey),
        readyTimeout: o.attemptTimeoutMs ?? 20_000,
      });
    });
  });
}

/** Connects with retries until `timeoutMs`; each failure is kept for the final error. */
export async function connectWithRetry(o: ConnectOptions): Promise<GuestSsh> {
  const deadline = Date.now() + o.timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await connectOnce({ ...o, attemptTimeoutMs: Math.min(o.attemptTimeoutMs ?? 20_000, Math.max(1000, deadline - Date.now())) });
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`SSH to ${o.socketPath} not ready after ${o.timeoutMs} ms: ${String(last)}`);
}

/** Runs `command` on a new exec channel of `client`, feeding `stdin` if given. */
export function execOn(client: Client, command: string, stdin?: Buffer | string): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    client.exec(command, (err, ch) => {
      if (err) return reject(err);
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      let code: number | null = null;
      let signal: string | undefined;
      ch.on('data', (d: Buffer) => out.push(d));
      ch.stderr.on('data', (d: Buffer) => errOut.push(d));
      ch.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = s;
      });
      ch.on('close', () => resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(errOut).toString() }));
      if (stdin !== undefined) ch.end(stdin);
      else ch.end();
    });
  });
}

function wrap(client: Client, sock: { destroy(): void }): GuestSsh {
  return {
    client,
    exec: (command, stdin) => execOn(client, command, stdin),
    close: () => {
      client.end();
      sock.destroy();
    },
  };
}
