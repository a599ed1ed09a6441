import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EGRESS_LOG_FILE, readEgressLog } from './egress-audit.js';
import { EgressSession } from './egress-session.js';
import { exchange, hasFullResponse, startOrigin, until, type Origin } from './egress-test-kit.js';
import { FRAME } from './relay-frames.js';
import { ScriptedGuest } from './relay-test-guest.js';
import { startTestGuest, type TestGuest } from './ssh-test-guest.js';

let dir: string;
let origin: Origin;
let guest: TestGuest;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-egress-session-'));
  origin = await startOrigin();
  guest = await startTestGuest();
});
afterAll(async () => {
  await guest.close();
  await origin.close();
  await rm(dir, { recursive: true, force: true });
});

describe('EgressSession', () => {
  it('logs a task’s requests in its folder by its proxy credentials, and the rest per workspace', async () => {
    const session = await EgressSession.start({
      workspaceId: 'ws1',
      policy: { mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`] },
      tasksDir: join(dir, 'tasks'),
      vmDir: join(dir, 'vms', 'ws1'),
      client: guest.client,
      guestPort: 0,
    });
    const env = session.taskEnvironment('task-1');
    const proxyUrl = new URL(env.HTTP_PROXY!);
    expect(proxyUrl.port).toBe(String(session.guestPort));
    expect(proxyUrl.username).toBe('task-1');
    const auth = `Basic ${Buffer.from(`${proxyUrl.username}:${proxyUrl.password}`).toString('base64')}`;
    const get = (extra: string) => exchange(netConnect(session.guestPort, '127.0.0.1'), `GET http://127.0.0.1:${origin.port}/hello HTTP/1.1\r\nHost: x\r\n${extra}\r\n`, hasFullResponse);
    expect(await get(`Proxy-Authorization: ${auth}\r\n`)).toMatch(/hello$/);
    expect(await get('')).toMatch(/hello$/);
    session.taskEnded('task-1');
    await session.close();
    const task = await readEgressLog(join(dir, 'tasks', 'task-1', EGRESS_LOG_FILE));
    expect(task.records.map((r) => [r.taskId, r.decision, r.status])).toEqual([['task-1', 'allowed', 200]]);
    const rest = await readEgressLog(join(dir, 'vms', 'ws1', EGRESS_LOG_FILE));
    expect(rest.records.map((r) => r.taskId)).toEqual([null]);
  });

  it('gives tasks no proxy environment while the network is off, yet refuses and logs', async () => {
    const session = await EgressSession.start({ workspaceId: 'ws2', policy: { mode: 'off' }, tasksDir: join(dir, 'tasks'), vmDir: join(dir, 'vms', 'ws2'), client: guest.client, guestPort: 0 });
    expect(session.taskEnvironment('task-2')).toEqual({});
    const answer = await exchange(netConnect(session.guestPort, '127.0.0.1'), 'CONNECT api.example.com:443 HTTP/1.1\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 403/);
    await session.close();
    const rest = await readEgressLog(join(dir, 'vms', 'ws2', EGRESS_LOG_FILE));
    expect(rest.records.map((r) => r.decision)).toEqual(['blocked-by-policy']);
  });
});

describe('EgressSession over the egress relay', () => {
  const listen = async (path: string, onSocket: (s: Socket) => void): Promise<Server> => {
    const server = createServer(onSocket);
    await new Promise<void>((r) => server.listen(path, r));
    return server;
  };

  it('uses the relay when the VM has the channel: guest streams reach the same proxy and log', async () => {
    const path = join(dir, 'relay-ok.sock');
    let guest: ScriptedGuest | null = null;
    const server = await listen(path, (s) => (guest = new ScriptedGuest(s)));
    const session = await EgressSession.start({ workspaceId: 'ws3', policy: { mode: 'off' }, tasksDir: join(dir, 'tasks'), vmDir: join(dir, 'vms', 'ws3'), relayPath: path });
    expect([session.transport, session.relayFailure, session.guestPort]).toEqual(['relay', null, 3128]);
    const g = guest as unknown as ScriptedGuest;
    g.send(FRAME.open, 1025, Buffer.from([0, 1]));
    g.send(FRAME.data, 1025, Buffer.from('CONNECT api.example.com:443 HTTP/1.1\r\n\r\n'));
    await until(() => g.frames.some((f) => f.type === FRAME.data && f.payload.toString().startsWith('HTTP/1.1 403')));
    await session.close();
    const rest = await readEgressLog(join(dir, 'vms', 'ws3', EGRESS_LOG_FILE));
    expect(rest.records.map((r) => [r.host, r.decision])).toEqual([['api.example.com', 'blocked-by-policy']]);
    server.close();
  });

  it('falls back to the SSH forward, keeping the reason, when the guest does not answer on the channel', async () => {
    const path = join(dir, 'relay-silent.sock');
    const server = await listen(path, () => undefined);
    const session = await EgressSession.start({
      workspaceId: 'ws4', policy: { mode: 'off' }, tasksDir: join(dir, 'tasks'), vmDir: join(dir, 'vms', 'ws4'),
      relayPath: path, relayHelloTimeoutMs: 300, client: guest.client, guestPort: 0,
    });
    expect(session.transport).toBe('ssh-forward');
    expect(session.relayFailure).toMatch(/did not answer within 300 ms/);
    await session.close();
    server.close();
  });

  it('without an SSH client, a relay that cannot start is the error', async () => {
    await expect(EgressSession.start({ workspaceId: 'ws5', policy: { mode: 'off' }, tasksDir: join(dir, 'tasks'), vmDir: join(dir, 'vms', 'ws5'), relayPath: join(dir, 'nothing.sock') }))
      .rejects.toThrow(/cannot connect to the egress relay channel .*nothing\.sock/);
  });
});
