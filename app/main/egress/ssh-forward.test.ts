import { connect as netConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressProxy } from './egress-proxy.js';
import { exchange, hasFullResponse, MemoryAudit, startOrigin, until, type Origin } from './egress-test-kit.js';
import { attachEgressForward } from './ssh-forward.js';
import { startTestGuest, type TestGuest } from './ssh-test-guest.js';

let origin: Origin;
let guest: TestGuest;
beforeAll(async () => {
  origin = await startOrigin();
  guest = await startTestGuest();
});
afterAll(async () => {
  await guest.close();
  await origin.close();
});

describe('attachEgressForward', () => {
  it('serves connections the guest makes to its forwarded port over SSH channels', async () => {
    const audit = new MemoryAudit();
    const proxy = new EgressProxy({ workspaceId: 'ws1', audit, policy: { mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`] } });
    const forward = await attachEgressForward(guest.client, proxy, { port: 0, tagOf: () => ({ taskId: 'task-ssh' }) });
    expect(guest.forwardedPorts).toEqual([forward.port]);
    // What a task in the guest does: talk to 127.0.0.1:<forwarded port> as its HTTP proxy.
    const inGuest = netConnect(forward.port, '127.0.0.1');
    const plain = await exchange(inGuest, `GET http://127.0.0.1:${origin.port}/bytes/300000 HTTP/1.1\r\nHost: x\r\n\r\n`, hasFullResponse);
    expect(plain).toMatch(/^HTTP\/1.1 200/);
    expect(plain.length).toBeGreaterThan(300000);
    const refused = await exchange(inGuest, 'CONNECT elsewhere.example.com:443 HTTP/1.1\r\n\r\n');
    expect(refused).toMatch(/^HTTP\/1.1 403/);
    await until(() => audit.records.length === 2);
    expect(audit.records.map((r) => [r.taskId, r.decision])).toEqual([
      ['task-ssh', 'allowed'],
      ['task-ssh', 'blocked-by-policy'],
    ]);
    expect(audit.records[0]!.bytesDown).toBeGreaterThan(300000);
    await until(() => proxy.stats().connections === 0);
    await forward.detach();
    proxy.close();
  });
});
