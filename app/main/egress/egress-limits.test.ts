import { connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EgressPolicy } from './egress-policy.js';
import { EgressProxy, type EgressLimits } from './egress-proxy.js';
import { connectVia, duplexPair, exchange, hasFullResponse, MemoryAudit, startOrigin, until, viaProxy, type Origin } from './egress-test-kit.js';

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

async function limitedProxy(limits: Partial<EgressLimits> = {}, policy?: EgressPolicy) {
  const audit = new MemoryAudit();
  const proxy = new EgressProxy({ workspaceId: 'ws1', audit, policy: policy ?? { mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`] }, limits });
  const server = await proxy.listen();
  opened.push({ proxy, server });
  return { proxy, port: (server.address() as AddressInfo).port, audit };
}

/** Sends raw bytes on a fresh connection and returns all that comes back until the proxy closes it. */
async function raw(port: number, bytes: string | Buffer): Promise<string> {
  return exchange(netConnect(port, '127.0.0.1'), bytes);
}

const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

describe('EgressProxy — malformed input and limits', () => {
  it('answers malformed requests with a clean 4xx and stays up', async () => {
    const { port } = await limitedProxy();
    const cases: [string | Buffer, number, RegExp][] = [
      ['GARBAGE\r\n\r\n', 400, /malformed request/],
      [Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]), 400, /malformed request/],
      ['GET /relative HTTP/1.1\r\nHost: x\r\n\r\n', 400, /only absolute-form requests/],
      ['GET https://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n', 400, /CONNECT/],
      ['GET http://exa mple.com/ HTTP/1.1\r\nHost: x\r\n\r\n', 400, /malformed request/],
      ['GET http://user:pw@127.0.0.1/ HTTP/1.1\r\nHost: x\r\n\r\n', 400, /may not carry credentials/],
      ['GET http://bad_host!/ HTTP/1.1\r\nHost: x\r\n\r\n', 400, /not a valid host|not valid/],
      ['CONNECT example.com HTTP/1.1\r\n\r\n', 400, /CONNECT needs host:port/],
      ['CONNECT example.com:99999 HTTP/1.1\r\n\r\n', 400, /CONNECT needs host:port/],
      ['CONNECT /path HTTP/1.1\r\n\r\n', 400, /CONNECT needs host:port/],
      ['GET http://127.0.0.1/ HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 400, /malformed request/],
      [`GET http://127.0.0.1:${1}/ HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nHost: x\r\n\r\n`, 501, /upgrades over plain HTTP/],
    ];
    for (const [bytes, status, text] of cases) {
      const answer = await raw(port, bytes);
      expect(statusOf(answer), JSON.stringify(bytes.toString())).toBe(status);
      expect(answer).toMatch(text);
    }
    expect((await viaProxy(port, `http://127.0.0.1:${origin.port}/hello`)).body).toBe('hello');
  });

  it('refuses a request head over the size limit with 431', async () => {
    const { port } = await limitedProxy({ maxHeaderBytes: 4096 });
    const answer = await raw(port, `GET http://127.0.0.1:${origin.port}/hello HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8192)}\r\n\r\n`);
    expect(statusOf(answer)).toBe(431);
    expect(answer).toContain('larger than 4096 bytes');
    const endless = await raw(port, `GET http://127.0.0.1:${origin.port}/hello HTTP/1.1\r\n${'X-A: b\r\n'.repeat(2000)}`);
    expect(statusOf(endless)).toBe(431);
  });

  it('refuses connections over the limit with 503 and serves again once they close', async () => {
    const { proxy, port } = await limitedProxy({ maxConnections: 2 });
    const held = [netConnect(port, '127.0.0.1'), netConnect(port, '127.0.0.1')];
    await until(() => proxy.stats().connections === 2);
    const third = await raw(port, `GET http://127.0.0.1:${origin.port}/hello HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(statusOf(third)).toBe(503);
    expect(third).toContain('too many connections (limit 2)');
    for (const s of held) s.destroy();
    await until(() => proxy.stats().connections === 0);
    expect((await viaProxy(port, `http://127.0.0.1:${origin.port}/hello`)).status).toBe(200);
  });

  it('closes idle connections: silent ones, slow request heads, keep-alive between requests, idle tunnels', async () => {
    const { proxy, port } = await limitedProxy({ idleTimeoutMs: 300 });
    const started = Date.now();
    expect(await raw(port, '')).toBe('');
    expect(await raw(port, 'GET http://127.0.0.1/ HTTP/1.1\r\nHo')).toBe('');
    const keep = netConnect(port, '127.0.0.1');
    const first = await exchange(keep, `GET http://127.0.0.1:${origin.port}/hello HTTP/1.1\r\nHost: x\r\n\r\n`, hasFullResponse);
    expect(first).toMatch(/hello$/);
    expect(await exchange(keep, '')).toBe('');
    const tunnel = await connectVia(port, `127.0.0.1:${origin.port}`);
    expect(tunnel.status).toBe(200);
    expect(await exchange(tunnel.socket, '')).toBe('');
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 300);
    await until(() => proxy.stats().connections === 0 && proxy.stats().upstreams === 0);
  });

  it('never crashes on a client that vanishes mid-request or mid-answer', async () => {
    const { proxy, port, audit } = await limitedProxy();
    const a = netConnect(port, '127.0.0.1');
    a.write(`POST http://127.0.0.1:${origin.port}/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial`);
    await until(() => proxy.stats().upstreams === 1);
    a.destroy();
    const b = netConnect(port, '127.0.0.1');
    b.write(`GET http://127.0.0.1:${origin.port}/bytes/50000000 HTTP/1.1\r\nHost: x\r\n\r\n`);
    await new Promise<void>((r) => b.once('data', () => r()));
    b.destroy();
    await until(() => proxy.stats().connections === 0 && proxy.stats().upstreams === 0);
    await until(() => audit.records.length === 2);
    expect(audit.records[1]!.bytesDown).toBeLessThan(50_000_000);
    expect((await viaProxy(port, `http://127.0.0.1:${origin.port}/hello`)).status).toBe(200);
  });

  it('handles 1,000 concurrent connections over the limit: each is served or refused, memory stays bounded', async () => {
    const { proxy, port } = await limitedProxy({ maxConnections: 256 });
    const rssBefore = process.memoryUsage().rss;
    const sockets: Socket[] = [];
    const answers = await Promise.all(
      Array.from({ length: 1000 }, () => {
        const s = netConnect(port, '127.0.0.1');
        sockets.push(s);
        return exchange(s, `GET http://127.0.0.1:${origin.port}/bytes/20000 HTTP/1.1\r\nHost: x\r\n\r\n`, hasFullResponse, 60_000);
      }),
    );
    const served = answers.filter((a) => statusOf(a) === 200).length;
    const refused = answers.filter((a) => statusOf(a) === 503).length;
    expect(served + refused).toBe(1000);
    expect(served).toBeGreaterThanOrEqual(256);
    expect(refused).toBeGreaterThan(0);
    expect(proxy.stats().connections).toBeLessThanOrEqual(256);
    for (const s of sockets) s.destroy();
    await until(() => proxy.stats().connections === 0, 10_000);
    const growthMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    expect(growthMb).toBeLessThan(150);
  }, 90_000);

  it('serves 1,000 concurrent in-memory channels at once with memory bounded', async () => {
    const audit = new MemoryAudit();
    const proxy = new EgressProxy({ workspaceId: 'ws1', audit, policy: { mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`] }, limits: { maxConnections: 1000 } });
    const rssBefore = process.memoryUsage().rss;
    const guests = Array.from({ length: 1000 }, () => {
      const [guest, host] = duplexPair();
      void proxy.serve(host, { taskId: 't' });
      return guest;
    });
    expect(proxy.stats().connections).toBe(1000);
    const answers = await Promise.all(guests.map((g) => exchange(g, `GET http://127.0.0.1:${origin.port}/bytes/20000 HTTP/1.1\r\nHost: x\r\n\r\n`, hasFullResponse, 60_000)));
    expect(answers.every((a) => statusOf(a) === 200 && a.length > 20000)).toBe(true);
    const growthMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    for (const g of guests) g.destroy();
    await until(() => proxy.stats().connections === 0, 10_000);
    expect(audit.records.length).toBe(1000);
    expect(growthMb).toBeLessThan(200);
    proxy.close();
  }, 90_000);
});
