import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EGRESS_LOG_FILE, readEgressLog } from './egress-audit.js';
import { EgressSession } from './egress-session.js';
import { exchange, hasFullResponse, startOrigin, type Origin } from './egress-test-kit.js';
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
