import { connect as netConnect, type AddressInfo, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EgressPrompt } from './decision-gate.js';
import type { EgressPolicy } from './egress-policy.js';
import { EgressProxy, type EgressLimits } from './egress-proxy.js';
import { connectVia, fakeResolver, MemoryAudit, startOrigin, until, viaProxy, type Origin } from './egress-test-kit.js';

let origin: Origin;
const opened: { proxy: EgressProxy; server: Server }[] = [];
beforeAll(async () => {
  origin = await startOrigin();
});
afterAll(async () => origin.close());
afterEach(async () => {
  for (const { proxy, server } of opened.splice(0)) {
    proxy.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

// `svc.example.com` stands for a service on the test origin's loopback address; a name that
// resolves to 127.0.0.1 needs an exact entry or the user's explicit allowance.
const resolver = fakeResolver({ 'svc.example.com': ['127.0.0.1'] });

async function promptingProxy(policy: EgressPolicy, limits: Partial<EgressLimits> = {}) {
  const audit = new MemoryAudit();
  const proxy = new EgressProxy({ workspaceId: 'ws1', audit, policy, resolver, limits });
  const prompts: EgressPrompt[] = [];
  const policies: EgressPolicy[] = [];
  proxy.on('prompt', (p) => prompts.push(p));
  proxy.on('policy', (p) => policies.push(p));
  const server = await proxy.listen();
  opened.push({ proxy, server });
  return { proxy, port: (server.address() as AddressInfo).port, audit, prompts, policies };
}

describe('EgressProxy — asking the user', () => {
  it('"allow once" lets exactly the waiting request through; the next one asks again', async () => {
    const { proxy, port, audit, prompts } = await promptingProxy({ mode: 'allowlist', hosts: [] });
    const url = `http://svc.example.com:${origin.port}/hello`;
    const first = viaProxy(port, url);
    await until(() => prompts.length === 1);
    expect(prompts[0]).toMatchObject({ workspaceId: 'ws1', host: 'svc.example.com', port: origin.port, kind: 'http', method: 'GET', blockedAs: 'blocked-by-policy' });
    expect(prompts[0]!.reason).toBe(`svc.example.com:${origin.port} is not in the workspace's allowlist`);
    expect(proxy.stats().pendingPrompts).toBe(1);
    expect(proxy.answer(prompts[0]!.id, 'once')).toBe(true);
    expect(await first).toMatchObject({ status: 200, body: 'hello' });
    expect(proxy.answer(prompts[0]!.id, 'once')).toBe(false);

    const second = viaProxy(port, url);
    await until(() => prompts.length === 2);
    proxy.answer(prompts[1]!.id, 'deny');
    const denied = await second;
    expect(denied.status).toBe(403);
    expect(denied.body).toContain('denied by the user');
    await until(() => audit.records.length === 2);
    expect(audit.records.map((r) => [r.decision, r.reason])).toEqual([
      ['allowed', 'allowed once by the user'],
      ['blocked-by-policy', `svc.example.com:${origin.port} is not in the workspace's allowlist; denied by the user`],
    ]);
    expect(proxy.policy).toEqual({ mode: 'allowlist', hosts: [] });
  });

  it('"allow always" adds the exact host:port, reports the new policy, and covers others waiting for it', async () => {
    const { proxy, port, prompts, policies } = await promptingProxy({ mode: 'allowlist', hosts: ['api.example.com'] });
    const a = connectVia(port, `svc.example.com:${origin.port}`);
    const b = viaProxy(port, `http://svc.example.com:${origin.port}/hello`);
    await until(() => prompts.length === 2);
    proxy.answer(prompts[0]!.id, 'always');
    const [ta, rb] = await Promise.all([a, b]);
    expect(ta.status).toBe(200);
    ta.socket.destroy();
    expect(rb).toMatchObject({ status: 200, body: 'hello' });
    const want = { mode: 'allowlist', hosts: ['api.example.com', `svc.example.com:${origin.port}`] };
    expect(policies).toEqual([want]);
    expect(proxy.policy).toEqual(want);
    // Later requests pass without asking.
    expect((await viaProxy(port, `http://svc.example.com:${origin.port}/hello`)).status).toBe(200);
    expect(prompts.length).toBe(2);
  });

  it('asks when an allowed wildcard name resolves to a private address, and says so', async () => {
    const { proxy, port, prompts, audit } = await promptingProxy({ mode: 'allowlist', hosts: [`*.example.com:${origin.port}`] });
    const r = viaProxy(port, `http://svc.example.com:${origin.port}/hello`);
    await until(() => prompts.length === 1);
    expect(prompts[0]!.blockedAs).toBe('blocked-private-address');
    expect(prompts[0]!.reason).toContain('svc.example.com resolves to 127.0.0.1, loopback');
    proxy.answer(prompts[0]!.id, 'once');
    expect((await r).status).toBe(200);
    await until(() => audit.records.length === 1);
    expect(audit.records[0]).toMatchObject({ decision: 'allowed', reason: 'allowed once by the user', address: '127.0.0.1' });
  });

  it('refuses when no answer comes in time, or too many already wait', async () => {
    const { port, prompts, audit } = await promptingProxy({ mode: 'allowlist', hosts: [] }, { decisionTimeoutMs: 300, maxPendingPrompts: 1 });
    const waiting = viaProxy(port, `http://svc.example.com:${origin.port}/hello`);
    await until(() => prompts.length === 1);
    const overflow = await viaProxy(port, `http://svc.example.com:${origin.port}/hello`);
    expect(overflow.status).toBe(403);
    expect(overflow.body).toContain('too many requests are already waiting for an answer');
    const timedOut = await waiting;
    expect(timedOut.status).toBe(403);
    expect(timedOut.body).toContain('no answer within 300 ms');
    await until(() => audit.records.length === 2);
  });

  it('drops the prompt when the guest gives up waiting, and all prompts when the proxy closes', async () => {
    const { proxy, port, prompts } = await promptingProxy({ mode: 'allowlist', hosts: [] });
    const settled: string[] = [];
    proxy.on('promptSettled', (_id, o) => settled.push(o));
    const quitter = netConnect(port, '127.0.0.1');
    quitter.write(`CONNECT svc.example.com:${origin.port} HTTP/1.1\r\n\r\n`);
    await until(() => prompts.length === 1);
    quitter.destroy();
    await until(() => settled.length === 1);
    expect(settled).toEqual(['closed']);
    await until(() => proxy.stats().connections === 0);

    const waiting = viaProxy(port, `http://svc.example.com:${origin.port}/hello`);
    void waiting.catch(() => undefined);
    await until(() => prompts.length === 2);
    proxy.close();
    await until(() => settled.length === 2);
    await until(() => proxy.stats().connections === 0);
    expect(proxy.stats()).toEqual({ connections: 0, upstreams: 0, pendingPrompts: 0 });
  });
});
