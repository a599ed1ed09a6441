import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EGRESS_LOG_FILE, EgressAuditLog, exportEgressLog, readEgressLog, type EgressRecord } from './egress-audit.js';
import { EgressProxy } from './egress-proxy.js';
import { proxyEnvironment, TaskCredentials } from './task-credentials.js';
import { duplexPair, exchange } from './egress-test-kit.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viv-egress-audit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rec = (over: Partial<EgressRecord> = {}): EgressRecord => ({
  time: '2026-11-27T04:00:00.000Z',
  workspaceId: 'ws1',
  taskId: 'task-1',
  host: 'api.example.com',
  port: 443,
  kind: 'connect',
  method: null,
  decision: 'allowed',
  reason: 'matches api.example.com',
  address: '93.184.216.34',
  status: 200,
  bytesUp: 10,
  bytesDown: 20,
  durationMs: 5,
  ...over,
});

describe('EgressAuditLog', () => {
  it('keeps each task’s records in tasks/<id>/egress.jsonl (0600), in order, and the rest in the workspace file', async () => {
    const log = new EgressAuditLog({ tasksDir: join(dir, 'tasks'), unattributedPath: join(dir, 'vms', 'ws1', 'egress.jsonl') });
    log.record(rec({ bytesUp: 1 }));
    log.record(rec({ bytesUp: 2, decision: 'blocked-by-policy', address: null }));
    log.record(rec({ taskId: null, host: 'other.example.com' }));
    log.record(rec({ taskId: '../escape' }));
    await log.flush();
    const taskFile = join(dir, 'tasks', 'task-1', EGRESS_LOG_FILE);
    expect(((await stat(taskFile)).mode & 0o777).toString(8)).toBe('600');
    const mine = await readEgressLog(taskFile);
    expect(mine.records.map((r) => [r.bytesUp, r.decision])).toEqual([
      [1, 'allowed'],
      [2, 'blocked-by-policy'],
    ]);
    expect(mine.problems).toEqual([]);
    const rest = await readEgressLog(join(dir, 'vms', 'ws1', 'egress.jsonl'));
    expect(rest.records.map((r) => r.taskId)).toEqual([null, '../escape']);
    expect(log.failure).toBeNull();
  });

  it('stops at the cap with one marker line and counts what it dropped', async () => {
    const path = join(dir, 'tasks', 'task-1', EGRESS_LOG_FILE);
    const one = `${JSON.stringify(rec())}\n`.length;
    const log = new EgressAuditLog({ tasksDir: join(dir, 'tasks'), unattributedPath: join(dir, 'u.jsonl'), capBytes: one * 2 + 10 });
    for (let i = 0; i < 5; i++) log.record(rec({ bytesUp: i }));
    await log.flush();
    const read = await readEgressLog(path);
    expect(read.records.map((r) => r.bytesUp)).toEqual([0, 1]);
    expect(read.truncated).toBe(true);
    expect(log.droppedCount()).toBe(3);
  });

  it('reads around damaged lines and exports only valid records as JSON lines', async () => {
    const path = join(dir, 'x.jsonl');
    await writeFile(path, `${JSON.stringify(rec({ bytesUp: 7 }))}\nnot json\n{"time":"t"}\n${JSON.stringify(rec({ bytesUp: 8 }))}\n`);
    const read = await readEgressLog(path);
    expect(read.records.map((r) => r.bytesUp)).toEqual([7, 8]);
    expect(read.problems).toEqual([`line 2 of ${path} is not JSON`, `line 3 of ${path} is not an egress record`]);
    const exported = await exportEgressLog(path);
    expect(exported.trim().split('\n').map((l) => (JSON.parse(l) as EgressRecord).bytesUp)).toEqual([7, 8]);
    expect(await readEgressLog(join(dir, 'missing.jsonl'))).toEqual({ records: [], truncated: false, problems: [] });
  });

  it('records what the proxy decided, to disk, under the task', async () => {
    const log = new EgressAuditLog({ tasksDir: join(dir, 'tasks'), unattributedPath: join(dir, 'u.jsonl') });
    const proxy = new EgressProxy({ workspaceId: 'ws1', audit: log, policy: { mode: 'off' } });
    const [guest, host] = duplexPair();
    void proxy.serve(host, { taskId: 'task-9' });
    const answer = await exchange(guest, 'CONNECT api.example.com:443 HTTP/1.1\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 403 Forbidden/);
    proxy.close();
    await log.flush();
    const text = await readFile(join(dir, 'tasks', 'task-9', EGRESS_LOG_FILE), 'utf8');
    expect(JSON.parse(text)).toMatchObject({ taskId: 'task-9', host: 'api.example.com', port: 443, decision: 'blocked-by-policy', reason: 'network access is off for this workspace' });
  });
});

describe('task credentials and environment', () => {
  it('maps a task’s Proxy-Authorization back to it and nothing else', () => {
    const c = new TaskCredentials();
    const token = c.issue('task-1');
    const header = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
    expect(c.taskFor(header(`task-1:${token}`))).toBe('task-1');
    expect(c.taskFor(header(`task-1:${token}x`))).toBeNull();
    expect(c.taskFor(header(`task-2:${token}`))).toBeNull();
    expect(c.taskFor('Bearer abc')).toBeNull();
    expect(c.taskFor(undefined)).toBeNull();
    c.revoke('task-1');
    expect(c.taskFor(header(`task-1:${token}`))).toBeNull();
  });

  it('gives tasks the proxy in every spelling, with NO_PROXY for the guest loopback', () => {
    const env = proxyEnvironment({ taskId: 'task-1', token: 'tok' });
    expect(env.HTTPS_PROXY).toBe('http://task-1:tok@127.0.0.1:3128');
    expect(env.http_proxy).toBe(env.HTTP_PROXY);
    expect(env.https_proxy).toBe(env.HTTPS_PROXY);
    expect(env.NO_PROXY).toBe('localhost,127.0.0.1,::1');
    expect(proxyEnvironment().HTTP_PROXY).toBe('http://127.0.0.1:3128');
  });
});
