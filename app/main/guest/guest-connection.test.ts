// The connection logic against ssh2's own in-process Server on a unix socket; commands are run
// by the host's /bin/sh. Real guests are covered by test/conformance/core-*.test.ts.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, type Connection } from 'ssh2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateEd25519, generateVmKeys, publicKeyBlob } from '../image/vm-keys.js';
import { GuestConnection } from './guest-connection.js';

let dir: string;
const servers: Server[] = [];
const keys = generateVmKeys('test');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-ssh-'));
});
afterEach(async () => {
  for (const s of servers.splice(0)) s.close();
  await rm(dir, { recursive: true, force: true });
});

/** An SSH server accepting only the VM client key and running exec requests with /bin/sh. */
function startServer(socketPath: string, hostPrivateKey = keys.hostPrivateKey): Promise<{ server: Server; conns: Connection[] }> {
  const clientBlob = publicKeyBlob(keys.clientPublicKey);
  const conns: Connection[] = [];
  const server = new Server({ hostKeys: [hostPrivateKey] }, (conn) => {
    conns.push(conn);
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => {
      if (ctx.method === 'publickey' && ctx.key.data.equals(clientBlob)) ctx.accept();
      else ctx.reject(['publickey']);
    });
    conn.on('ready', () => {
      conn.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acc, _rej, info) => {
          const ch = acc();
          const p = spawn('/bin/sh', ['-c', info.command]);
          p.stdout.pipe(ch, { end: false });
          p.stderr.pipe(ch.stderr, { end: false });
          // Like dropbear: EOF to the client once the process closed stdout and stderr; the
          // client's EOF closes the process's stdin.
          // ssh2's server-side eof() would suppress the later exit-status (it sends one only
          // while its side is "open"), so the EOF message is sent at the protocol level.
          type Proto = { channelEOF(id: number): void; exitStatus(id: number, code: number): void };
          const raw = ch as unknown as { _client: { _protocol: Proto }; outgoing: { id: number } };
          const sendEof = (): void => raw._client._protocol.channelEOF(raw.outgoing.id);
          let open = 2;
          const closed = (): void => void (--open === 0 && sendEof());
          p.stdout.on('end', closed);
          p.stderr.on('end', closed);
          ch.pipe(p.stdin);
          p.stdin.on('error', () => undefined);
          ch.on('signal' as never, () => undefined);
          p.on('close', (code, sig) => {
            // ssh2's server closes its side on the client's EOF; dropbear still reports the status.
            if (sig) ch.exit(sig.replace(/^SIG/, ''), false, '');
            else raw._client._protocol.exitStatus(raw.outgoing.id, code ?? 0);
            ch.end();
          });
        });
      });
    });
  });
  servers.push(server);
  return new Promise((r) => server.listen(socketPath, () => r({ server, conns })));
}

const endpoint = (socketPath: string) => ({ socketPath, privateKey: keys.clientPrivateKey, hostPublicKey: keys.hostPublicKey });

describe('GuestConnection', () => {
  it('runs commands with streaming output, exit code, env and cwd over one connection', async () => {
    const sock = join(dir, 's.sock');
    await startServer(sock);
    const conn = await GuestConnection.open(endpoint(sock), { timeoutMs: 10_000 });
    const r = await conn.run('echo "out $V $(pwd)"; echo err >&2; exit 3', { cwd: '/tmp', env: { V: 'it works' } });
    expect(r).toEqual({ stdout: 'out it works /tmp\n', stderr: 'err\n', exitCode: 3, signal: null });
    const parallel = await Promise.all([1, 2, 3].map((n) => conn.run(`sleep 0.${n}; echo ${n}`, { cwd: '/' })));
    expect(parallel.map((p) => p.stdout)).toEqual(['1\n', '2\n', '3\n']);
    // The session shell reports a killed command as 128 + signal, as a shell does.
    const killed = await conn.run('kill -KILL $$', { cwd: '/' });
    expect(killed.exitCode).toBe(137);
    conn.close();
  });

  it('retries until the guest answers', async () => {
    const sock = join(dir, 's.sock');
    setTimeout(() => void startServer(sock), 700);
    const conn = await GuestConnection.open(endpoint(sock), { timeoutMs: 10_000 });
    expect((await conn.run('echo late', { cwd: '/' })).stdout).toBe('late\n');
    conn.close();
  });

  it('refuses a guest whose host key is not the pinned one, without retrying', async () => {
    const sock = join(dir, 's.sock');
    await startServer(sock, generateEd25519('other-host').private);
    const t0 = Date.now();
    await expect(GuestConnection.open(endpoint(sock), { timeoutMs: 20_000 })).rejects.toThrow(/not the one pinned/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('times out with the last error, and stops early when aborted', async () => {
    const sock = join(dir, 'missing.sock');
    await expect(GuestConnection.open(endpoint(sock), { timeoutMs: 1200 })).rejects.toThrow(/did not answer over SSH within 1 s .*ENOENT/);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('the VM exited')), 300);
    await expect(GuestConnection.open(endpoint(sock), { timeoutMs: 20_000, abort: ac.signal })).rejects.toThrow(/the VM exited/);
  });

  it('emits close when the guest goes away', async () => {
    const sock = join(dir, 's.sock');
    const { conns } = await startServer(sock);
    const conn = await GuestConnection.open(endpoint(sock), { timeoutMs: 10_000 });
    const closed = new Promise<void>((r) => conn.once('close', r));
    conns[0]!.end();
    await closed;
    expect(conn.closed).toBe(true);
    await expect(conn.exec('true')).rejects.toThrow(/closed/);
  });
});
