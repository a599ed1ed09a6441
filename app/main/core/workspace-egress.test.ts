import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EgressPolicy } from '../../shared/contract-schemas.js';
import type { CoreEvent } from '../api/window-core.js';
import { exchange, hasFullResponse, startOrigin, until, type Origin } from '../egress/egress-test-kit.js';
import { FRAME } from '../egress/relay-frames.js';
import { ScriptedGuest } from '../egress/relay-test-guest.js';
import { startTestGuest, type TestGuest } from '../egress/ssh-test-guest.js';
import type { GuestConnection } from '../guest/guest-connection.js';
import { validatedPolicy, WorkspaceEgress } from './workspace-egress.js';

let dir: string;
let origin: Origin;
let guest: TestGuest;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-ws-egress-'));
  origin = await startOrigin();
  guest = await startTestGuest();
});
afterAll(async () => {
  await guest.close();
  await origin.close();
  await rm(dir, { recursive: true, force: true });
});

/** A guest connection as the hub sees it: the ssh2 client and a `close` event. */
function connection(): GuestConnection & EventEmitter {
  return Object.assign(new EventEmitter(), { sshClient: guest.client }) as unknown as GuestConnection & EventEmitter;
}

function hub(interactive: boolean, policy: EgressPolicy) {
  const events: CoreEvent[] = [];
  const granted: EgressPolicy[] = [];
  let current = policy;
  const h = new WorkspaceEgress({
    tasksDir: join(dir, 'tasks'), vmDir: (id) => join(dir, 'vms', id), policyOf: () => current,
    onPolicyGranted: (_id, p) => { granted.push(p); current = p; }, emit: (e) => events.push(e), interactive,
    guestPort: 0, recordFlushMs: 20,
  });
  return { h, events, granted };
}

/** Sends one proxied GET from the "guest" with the task's proxy URL; resolves to the raw answer. */
async function get(env: Record<string, string>, path = '/hello'): Promise<string> {
  const proxy = new URL(env.HTTP_PROXY!);
  const auth = Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64');
  return exchange(netConnect(Number(proxy.port), '127.0.0.1'),
    `GET http://127.0.0.1:${origin.port}${path} HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic ${auth}\r\nConnection: close\r\n\r\n`, hasFullResponse, 20_000);
}

describe('WorkspaceEgress', () => {
  it('asks the window: a prompt event, "once" passes that request, the record is pushed and kept with the task', async () => {
    const { h, events } = hub(true, { mode: 'allowlist', hosts: ['api.example.com'] });
    h.attach('w1', connection());
    const env = await h.taskEnvironment('w1', 'task-a');
    expect(env.HTTP_PROXY).toMatch(/^http:\/\/task-a:[^@]+@127\.0\.0\.1:\d+$/);
    const answer = get(env);
    await until(() => events.some((e) => e.event === 'egress:prompt'), 10_000);
    const prompt = events.find((e) => e.event === 'egress:prompt')!.payload as { id: string; taskId: string };
    expect(prompt.taskId).toBe('task-a');
    expect((await h.prompts('w1')).map((p) => p.id)).toEqual([prompt.id]);
    expect(await h.answer('w1', prompt.id, 'once')).toBe(true);
    expect(await answer).toMatch(/^HTTP\/1.1 200[\s\S]*hello$/);
    await until(() => events.some((e) => e.event === 'egress:record'), 5_000);
    expect(events.find((e) => e.event === 'egress:promptSettled')?.payload).toEqual({ workspaceId: 'w1', promptId: prompt.id, outcome: 'once' });
    const log = await h.log('w1', 'task-a');
    expect(log.records.map((r) => [r.decision, r.reason])).toEqual([['allowed', 'allowed once by the user']]);
    expect(await h.exportLog('w1', 'task-a')).toMatch(/^\{"time":.*"decision":"allowed".*\}\n$/);
    await h.closeAll();
  });

  it('"always" reports the grown policy for storing, and a new policy applies to the running proxy', async () => {
    const { h, events, granted } = hub(true, { mode: 'allowlist', hosts: ['api.example.com'] });
    h.attach('w2', connection());
    const env = await h.taskEnvironment('w2', 'task-b');
    const answer = get(env);
    await until(() => events.some((e) => e.event === 'egress:prompt'), 10_000);
    const p = events.find((e) => e.event === 'egress:prompt')!.payload as { id: string };
    await h.answer('w2', p.id, 'always');
    expect(await answer).toMatch(/hello$/);
    expect(granted).toEqual([{ mode: 'allowlist', hosts: ['api.example.com', `127.0.0.1:${origin.port}`] }]);
    await h.applyPolicy('w2', { mode: 'off' });
    expect(await get(env)).toMatch(/^HTTP\/1.1 403/);
    await h.closeAll();
  });

  it('headless: refuses at once with "nobody is there to ask"; network off gives no environment', async () => {
    const { h, events } = hub(false, { mode: 'allowlist', hosts: ['api.example.com'] });
    h.attach('w3', connection());
    expect(await get(await h.taskEnvironment('w3', 'task-c'))).toMatch(/^HTTP\/1.1 403/);
    await until(() => events.some((e) => e.event === 'egress:record'), 5_000);
    const rec = events.find((e) => e.event === 'egress:record')!.payload as { reason: string };
    expect(rec.reason).toMatch(/nobody is there to ask$/);
    expect(events.some((e) => e.event === 'egress:prompt')).toBe(false);
    await h.closeAll();
    const off = hub(false, { mode: 'off' });
    off.h.attach('w4', connection());
    expect(await off.h.taskEnvironment('w4', 'task-d')).toEqual({});
    expect(await off.h.anonymousEnvironment('w4')).toEqual({});
    await off.h.closeAll();
  });

  it('closes the session when the guest connection closes: its prompts are refused', async () => {
    const { h, events } = hub(true, { mode: 'allowlist', hosts: [] });
    const conn = connection();
    h.attach('w5', conn);
    const answer = get(await h.taskEnvironment('w5', 'task-e'));
    await until(() => events.some((e) => e.event === 'egress:prompt'), 10_000);
    conn.emit('close');
    await until(() => events.some((e) => e.event === 'egress:promptSettled'), 10_000);
    expect(events.find((e) => e.event === 'egress:promptSettled')?.payload).toMatchObject({ outcome: 'closed' });
    await answer.catch(() => '');
    expect(await h.prompts('w5')).toEqual([]);
    expect(await h.taskEnvironment('w5', 'task-f')).toEqual({});
  });

  it('validates policies naming the bad pattern, and normalises good ones', () => {
    expect(() => validatedPolicy({ mode: 'allowlist', hosts: ['ok.example.com', 'not a host'] })).toThrow(/not a host/);
    expect(validatedPolicy({ mode: 'allowlist', hosts: ['API.Example.com'] })).toEqual({ mode: 'allowlist', hosts: ['api.example.com'] });
  });
});

describe('WorkspaceEgress with an egress relay channel', () => {
  it('uses the VM\'s egress channel when it has one: the task env stays 127.0.0.1:3128 and requests pass the same proxy', async () => {
    const path = join(dir, 'egress.sock');
    let relayGuest: ScriptedGuest | null = null;
    const server = createServer((s) => (relayGuest = new ScriptedGuest(s)));
    await new Promise<void>((r) => server.listen(path, r));
    const events: CoreEvent[] = [];
    const h = new WorkspaceEgress({
      tasksDir: join(dir, 'tasks'), vmDir: (id) => join(dir, 'vms', id), policyOf: () => ({ mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`] }),
      onPolicyGranted: () => undefined, emit: (e) => events.push(e), interactive: false, recordFlushMs: 20,
      egressChannelOf: (id) => (id === 'w9' ? path : null),
    });
    h.attach('w9', connection());
    const env = await h.taskEnvironment('w9', 'task-r');
    const proxy = new URL(env.HTTP_PROXY!);
    expect(`${proxy.hostname}:${proxy.port}`).toBe('127.0.0.1:3128');
    const auth = Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64');
    const g = relayGuest as unknown as ScriptedGuest;
    g.send(FRAME.open, 1025, Buffer.from([0, 1]));
    g.send(FRAME.data, 1025, Buffer.from(`GET http://127.0.0.1:${origin.port}/hello HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`));
    const answer = (): string => Buffer.concat(g.frames.filter((f) => f.type === FRAME.data).map((f) => f.payload)).toString();
    await until(() => answer().endsWith('hello'), 10_000);
    await until(() => events.some((e) => e.event === 'egress:record'), 10_000);
    expect(events.find((e) => e.event === 'egress:record')?.payload).toMatchObject({ taskId: 'task-r', decision: 'allowed', status: 200 });
    await h.closeAll();
    server.close();
  });
});
