import { request as httpRequest } from 'node:http';
import { connect as netConnect, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EgressPrompt } from './decision-gate.js';
import { EgressProxy, type EgressProxyOptions } from './egress-proxy.js';
import {
  connectVia,
  duplexPair,
  exchange,
  fakeResolver,
  hasFullResponse,
  makeTestCertificate,
  MemoryAudit,
  startOrigin,
  startTlsOrigin,
  until,
  viaProxy,
  type Origin,
} from './egress-test-kit.js';

let origin: Origin;
let tlsOrigin: Origin;
let tls: { key: string; cert: string };
const opened: { proxy: EgressProxy; server: Server }[] = [];

beforeAll(async () => {
  origin = await startOrigin();
  tls = await makeTestCertificate();
  tlsOrigin = await startTlsOrigin(tls);
});
afterAll(async () => {
  await origin.close();
  await tlsOrigin.close();
});
afterEach(async () => {
  for (const { proxy, server } of opened.splice(0)) {
    proxy.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

async function startProxy(opts: Partial<EgressProxyOptions> & Pick<EgressProxyOptions, 'policy'>): Promise<{ proxy: EgressProxy; port: number; audit: MemoryAudit }> {
  const audit = new MemoryAudit();
  const proxy = new EgressProxy({ workspaceId: 'ws1', audit, ...opts });
  const server = await proxy.listen();
  opened.push({ proxy, server });
  return { proxy, port: (server.address() as AddressInfo).port, audit };
}

/** An HTTPS GET through an open tunnel socket, checking the origin's certificate. */
function httpsOver(socket: Socket, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const secure = tlsConnect({ socket, servername: 'localhost', ca: tls.cert });
    const req = httpRequest({ host: 'localhost', path, createConnection: () => secure }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('EgressProxy — allowed traffic', () => {
  it('forwards plain HTTP to an exactly allowed 127.0.0.1:port and counts bytes both ways', async () => {
    const { port, audit } = await startProxy({ policy: { mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`] } });
    const r = await viaProxy(port, `http://127.0.0.1:${origin.port}/echo`, { method: 'POST', body: 'x'.repeat(5000) });
    expect(r.status).toBe(200);
    expect(r.body).toBe('x'.repeat(5000));
    await until(() => audit.records.length === 1);
    const rec = audit.records[0]!;
    expect(rec).toMatchObject({ workspaceId: 'ws1', host: '127.0.0.1', port: origin.port, kind: 'http', method: 'POST', decision: 'allowed', status: 200, address: '127.0.0.1' });
    expect(rec.reason).toBe(`matches 127.0.0.1:${origin.port}`);
    expect(rec.bytesUp).toBeGreaterThan(5000);
    expect(rec.bytesDown).toBeGreaterThan(5000);
  });

  it('opens a CONNECT tunnel for TLS end to end, counting the encrypted bytes', async () => {
    const { port, audit } = await startProxy({ policy: { mode: 'allowlist', hosts: [`localhost:${tlsOrigin.port}`] } });
    const t = await connectVia(port, `localhost:${tlsOrigin.port}`);
    expect(t.status).toBe(200);
    expect(await httpsOver(t.socket, '/bytes/100000')).toBe('a'.repeat(100000));
    t.socket.destroy();
    await until(() => audit.records.length === 1);
    expect(audit.records[0]).toMatchObject({ kind: 'connect', method: null, decision: 'allowed', status: 200, host: 'localhost' });
    expect(audit.records[0]!.bytesDown).toBeGreaterThan(100000);
    expect(audit.records[0]!.bytesUp).toBeGreaterThan(100);
  });

  it('serves several requests on one keep-alive connection, rewriting Host and dropping proxy headers', async () => {
    const { port } = await startProxy({ policy: { mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`] } });
    const sock = netConnect(port, '127.0.0.1');
    const a = `127.0.0.1:${origin.port}`;
    const first = await exchange(sock, `GET http://${a}/hello HTTP/1.1\r\nHost: wrong.example\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n\r\n`, hasFullResponse);
    expect(first).toMatch(/^HTTP\/1.1 200/);
    expect(first.endsWith('hello')).toBe(true);
    const second = await exchange(sock, `GET http://${a}/headers HTTP/1.1\r\nHost: ${a}\r\nX-Keep: yes\r\n\r\n`, hasFullResponse);
    const headers = JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4)) as Record<string, string>;
    expect(headers.host).toBe(a);
    expect(headers['x-keep']).toBe('yes');
    expect(headers['proxy-authorization']).toBeUndefined();
    expect(headers['proxy-connection']).toBeUndefined();
    sock.destroy();
  });

  it('serves a Duplex that is not a socket (as an SSH channel is), tagged with its task', async () => {
    const audit = new MemoryAudit();
    const proxy = new EgressProxy({ workspaceId: 'ws1', audit, policy: { mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`] } });
    const [guest, host] = duplexPair();
    const served = proxy.serve(host, { taskId: 'task-7' });
    const answer = await exchange(guest, `GET http://127.0.0.1:${origin.port}/hello HTTP/1.1\r\nHost: x\r\n\r\n`, hasFullResponse);
    expect(answer).toMatch(/^HTTP\/1.1 200[\s\S]*hello$/);
    const tunnel = await exchange(guest, `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(tunnel).toMatch(/^HTTP\/1.1 200 Connection Established\r\n\r\nHTTP\/1.1 200 OK[\s\S]*hello$/);
    guest.end();
    await served;
    await until(() => audit.records.length === 2);
    expect(audit.records.map((r) => [r.kind, r.taskId, r.decision])).toEqual([
      ['http', 'task-7', 'allowed'],
      ['connect', 'task-7', 'allowed'],
    ]);
    expect(proxy.stats()).toEqual({ connections: 0, upstreams: 0, pendingPrompts: 0 });
  });

  it('logs a request under the task whose proxy credentials it carries', async () => {
    const { proxy, port, audit } = await startProxy({ policy: { mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`] } });
    const token = proxy.issueTaskToken('task-a');
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    await viaProxy(port, `http://127.0.0.1:${origin.port}/hello`, { headers: { 'proxy-authorization': basic('task-a', token) } });
    await viaProxy(port, `http://127.0.0.1:${origin.port}/hello`, { headers: { 'proxy-authorization': basic('task-a', 'forged') } });
    proxy.revokeTaskToken('task-a');
    await viaProxy(port, `http://127.0.0.1:${origin.port}/hello`, { headers: { 'proxy-authorization': basic('task-a', token) } });
    await until(() => audit.records.length === 3);
    expect(audit.records.map((r) => r.taskId)).toEqual(['task-a', null, null]);
  });
});

describe('EgressProxy — refusals', () => {
  it('refuses everything and logs it when the network is off, without resolving or asking', async () => {
    const resolver = fakeResolver({ 'api.example.com': ['93.184.216.34'] });
    const { proxy, port, audit } = await startProxy({ policy: { mode: 'off' }, resolver });
    const prompts: EgressPrompt[] = [];
    proxy.on('prompt', (p) => prompts.push(p));
    const r = await viaProxy(port, 'http://api.example.com/');
    expect(r.status).toBe(403);
    expect(r.res.headers['x-vivarium-egress']).toBe('blocked-by-policy');
    expect(r.body).toContain('network access is off for this workspace');
    const t = await connectVia(port, 'api.example.com:443');
    expect(t.status).toBe(403);
    await until(() => audit.records.length === 2);
    expect(audit.records.map((x) => [x.kind, x.decision, x.bytesUp, x.bytesDown])).toEqual([
      ['http', 'blocked-by-policy', 0, 0],
      ['connect', 'blocked-by-policy', 0, 0],
    ]);
    expect(resolver.calls).toEqual([]);
    expect(prompts).toEqual([]);
  });

  it('refuses a host outside the allowlist at once when nobody can be asked, and never resolves it', async () => {
    const resolver = fakeResolver({ 'exfil.example.net': ['93.184.216.34'] });
    const { port, audit } = await startProxy({ policy: { mode: 'allowlist', hosts: ['api.example.com'] }, resolver });
    const t = await connectVia(port, 'exfil.example.net:443');
    expect(t.status).toBe(403);
    expect(t.body).toContain("exfil.example.net:443 is not in the workspace's allowlist; nobody is there to ask");
    await until(() => audit.records.length === 1);
    expect(resolver.calls).toEqual([]);
  });

  it('refuses an allowed name that resolves to 127.0.0.1 (SSRF guard), before connecting', async () => {
    const resolver = fakeResolver({ 'rebind.example.com': ['127.0.0.1'], 'mixed.example.com': ['93.184.216.34', '::ffff:10.0.0.1'] });
    const { port, audit } = await startProxy({ policy: { mode: 'allowlist', hosts: ['rebind.example.com', `*.example.com:${origin.port}`] }, resolver });
    const r = await viaProxy(port, `http://rebind.example.com:${origin.port}/hello`);
    expect(r.status).toBe(403);
    expect(r.res.headers['x-vivarium-egress']).toBe('blocked-private-address');
    expect(r.body).toContain(`rebind.example.com resolves to 127.0.0.1, loopback; only an exact rebind.example.com:${origin.port} entry may reach it`);
    const m = await connectVia(port, `mixed.example.com:${origin.port}`);
    expect(m.status).toBe(403);
    await until(() => audit.records.length === 2);
    expect(audit.records.map((x) => [x.decision, x.address])).toEqual([
      ['blocked-private-address', null],
      ['blocked-private-address', null],
    ]);
  });

  it('refuses localhost (resolved by the system) unless that exact host:port is listed', async () => {
    const wild = await startProxy({ policy: { mode: 'allowlist', hosts: ['localhost', `*.example.com:${origin.port}`] } });
    expect((await viaProxy(wild.port, `http://localhost/hello`)).status).toBe(403);
    const exact = await startProxy({ policy: { mode: 'allowlist', hosts: [`localhost:${origin.port}`] } });
    const ok = await viaProxy(exact.port, `http://localhost:${origin.port}/hello`);
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('hello');
    // An IP literal of the host's loopback is a special address too.
    expect((await viaProxy(exact.port, `http://[::ffff:127.0.0.1]:${origin.port}/hello`)).status).toBe(403);
  });

  it('reads IPv6 and numeric IPv4 spellings as the loopback they are', async () => {
    const { port, audit } = await startProxy({ policy: { mode: 'allowlist', hosts: [`127.0.0.1:${origin.port}`, `*.example.com:${origin.port}`] } });
    const v6 = await connectVia(port, `[::1]:${origin.port}`);
    expect(v6.status).toBe(403);
    expect(v6.body).toContain(`[::1]:${origin.port} is not in the workspace's allowlist`);
    const mapped = await connectVia(port, `[::ffff:7f00:1]:${origin.port}`);
    expect(mapped.status).toBe(403);
    // The URL standard reads 0x7f000001 as 127.0.0.1; that exact entry is listed, so it passes.
    expect((await viaProxy(port, `http://0x7f000001:${origin.port}/hello`)).body).toBe('hello');
    // CONNECT takes no such spellings at all.
    expect((await connectVia(port, `0x7f000001:${origin.port}`)).status).toBe(400);
    await until(() => audit.records.length === 3);
    expect(audit.records.map((r) => [r.host, r.decision])).toEqual([
      ['::1', 'blocked-by-policy'],
      ['::ffff:7f00:1', 'blocked-by-policy'],
      ['127.0.0.1', 'allowed'],
    ]);
  });

  it('answers 502 with the cause when an allowed name does not resolve or the port is closed', async () => {
    const resolver = fakeResolver({ 'closed.example.com': ['127.0.0.1'] });
    const { port, audit } = await startProxy({ policy: { mode: 'allowlist', hosts: ['nowhere.example.com', 'closed.example.com:1'] }, resolver });
    const r = await viaProxy(port, 'http://nowhere.example.com/');
    expect(r.status).toBe(502);
    expect(r.body).toContain('nowhere.example.com could not be resolved (getaddrinfo ENOTFOUND nowhere.example.com)');
    const c = await connectVia(port, 'closed.example.com:1');
    expect(c.status).toBe(502);
    await until(() => audit.records.length === 2);
    expect(audit.records[1]).toMatchObject({ decision: 'allowed', status: 502 });
    expect(audit.records[1]!.error).toMatch(/ECONNREFUSED/);
  });
});
