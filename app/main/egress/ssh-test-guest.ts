/**
 * A stand-in for the guest's SSH server, for egress tests and the benchmark: a real ssh2 server
 * on 127.0.0.1 that honours `tcpip-forward` by listening on 127.0.0.1 (an ephemeral port, so
 * tests never collide) and opening a `forwarded-tcpip` channel for each connection, as dropbear
 * does in the VM. Not used by the app itself.
 */
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import ssh2, { type Connection } from 'ssh2';
import { generateEd25519 } from '../image/vm-keys.js';

// ssh2 is CommonJS; node's ESM loader cannot see all its named exports (Client, Server).
const { Client, Server } = ssh2;

/** A running stand-in guest plus a host-side client connected to it. */
export interface TestGuest {
  /** The host side: an authenticated ssh2 client, as the core holds one per VM. */
  client: InstanceType<typeof Client>;
  /** Guest-side ports bound by `tcpip-forward` so far. */
  forwardedPorts: number[];
  close(): Promise<void>;
}

/** Starts the stand-in guest and connects a client to it. */
export async function startTestGuest(): Promise<TestGuest> {
  const hostKey = generateEd25519('test-guest-host');
  const listeners: NetServer[] = [];
  const forwardedPorts: number[] = [];
  const conns: Connection[] = [];
  const server = new Server({ hostKeys: [hostKey.private] }, (conn) => {
    conns.push(conn);
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => (ctx.method === 'password' && ctx.password === 'test' ? ctx.accept() : ctx.reject(['password'])));
    conn.on('request', (accept, reject, name, info) => {
      if (name !== 'tcpip-forward' || !accept) return reject?.();
      const { bindAddr, bindPort } = info as { bindAddr: string; bindPort: number };
      const listener = createNetServer((socket) => {
        socket.on('error', () => undefined);
        conn.forwardOut(bindAddr, (listener.address() as AddressInfo).port, socket.remoteAddress ?? '127.0.0.1', socket.remotePort ?? 0, (err, channel) => {
          if (err) return void socket.destroy();
          socket.pipe(channel).pipe(socket);
          channel.on('close', () => socket.destroy());
          socket.on('close', () => channel.close());
        });
      });
      listeners.push(listener);
      listener.listen(bindPort, bindAddr, () => {
        const port = (listener.address() as AddressInfo).port;
        forwardedPorts.push(port);
        accept(port);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, username: 'agent', password: 'test', hostVerifier: () => true });
  });
  return {
    client,
    forwardedPorts,
    close: async () => {
      client.end();
      for (const l of listeners) l.close();
      for (const c of conns) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
