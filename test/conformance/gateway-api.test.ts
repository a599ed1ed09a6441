// The API gateway (issue 10) against a local HTTPS server standing in for the real API: guest
// connections arrive over a real SSH remote forward (ssh2 stand-in guest, as dropbear does in
// the VM), the gateway strips the guest's credentials, adds the user's key, refuses endpoints
// the profile does not need, streams SSE back unbuffered, and logs each call to the task.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duplexPair, exchange, hasFullResponse, makeTestCertificate } from '../../app/main/egress/egress-test-kit.js';
import { startTestGuest, type TestGuest } from '../../app/main/egress/ssh-test-guest.js';
import { ApiGateway } from '../../app/main/gateway/api-gateway.js';
import { GATEWAY_APIS } from '../../app/main/gateway/gateway-apis.js';
import { GATEWAY_LOG_FILE, readGatewayLog } from '../../app/main/gateway/gateway-audit.js';
import { GatewayCallers } from '../../app/main/gateway/gateway-callers.js';
import { GatewaySession } from '../../app/main/gateway/gateway-session.js';
import { StaticKeyStore } from '../../app/main/gateway/key-store.js';

const USER_KEY = 'sk-ant-user-0123456789';
const PLANTED_KEY = 'sk-ant-attacker-ffff';
const TASK = 'task-gw1';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
let upstream: Server;
let upstreamPort: number;
let ca: string;
const seen: Seen[] = [];
// The streaming route sends its second event only when the test says so: the first event must
// already have reached the guest, which a buffering gateway would hold back.
let releaseSecondEvent: () => void = () => undefined;

let guest: TestGuest;
let dataDir: string;
let session: GatewaySession;

beforeAll(async () => {
  const tls = await makeTestCertificate();
  ca = tls.cert;
  upstream = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const body = Buffer.concat(parts).toString();
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (JSON.parse(body || '{}').stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'set-cookie': 'upstream=1' });
        res.write(`event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 42, output_tokens: 1 } } })}\n\n`);
        releaseSecondEvent = () => {
          res.write(`event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', usage: { output_tokens: 17 } })}\n\n`);
          res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n');
        };
      } else {
        const reply = JSON.stringify({ id: 'msg_1', type: 'message', content: [{ type: 'text', text: 'hi' }], usage: { input_tokens: 5, output_tokens: 3 } });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) });
        res.end(reply);
      }
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
  upstreamPort = (upstream.address() as AddressInfo).port;
  guest = await startTestGuest();
  dataDir = await mkdtemp(join(tmpdir(), 'viv-gateway-'));
  session = await GatewaySession.start({
    workspaceId: 'ws-gw',
    apis: ['anthropic'],
    keys: new StaticKeyStore({ anthropic: USER_KEY }),
    tasksDir: join(dataDir, 'tasks'),
    vmDir: join(dataDir, 'vms', 'ws-gw'),
    client: guest.client,
    upstreams: { anthropic: { baseUrl: `https://127.0.0.1:${upstreamPort}`, ca } },
    guestPorts: { anthropic: 0 },
  });
});

afterAll(async () => {
  await session?.close();
  await guest?.close();
  upstream?.closeAllConnections();
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** What an agent in the guest does: an HTTP call to the gateway's guest loopback port. */
function callFromGuest(path: string, headers: Record<string, string>, body: string, onResponse?: (res: IncomingMessage) => void): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const port = session.guestPort('anthropic')!;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      onResponse?.(res);
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('API gateway over the SSH forward', () => {
  it('adds the user key and never forwards a key sent from the guest', async () => {
    const env = session.taskEnvironment(TASK, ['anthropic']);
    expect(env.ANTHROPIC_BASE_URL).toBe(`http://127.0.0.1:${session.guestPort('anthropic')}`);
    expect(JSON.stringify(env)).not.toContain(USER_KEY);
    const before = seen.length;
    const res = await callFromGuest('/v1/messages?beta=true', {
      'x-api-key': env.ANTHROPIC_API_KEY!,
      authorization: `Bearer ${PLANTED_KEY}`,
      cookie: `session=${PLANTED_KEY}`,
      'anthropic-api-key': PLANTED_KEY,
      'anthropic-version': '2023-06-01',
    }, JSON.stringify({ model: 'm', max_tokens: 5, messages: [] }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).content[0].text).toBe('hi');
    expect(seen.length).toBe(before + 1);
    const got = seen.at(-1)!;
    expect(got.url).toBe('/v1/messages?beta=true');
    expect(got.headers['x-api-key']).toBe(USER_KEY);
    expect(got.headers['anthropic-version']).toBe('2023-06-01');
    const wire = JSON.stringify(got.headers);
    expect(wire).not.toContain(PLANTED_KEY);
    expect(wire).not.toContain(env.ANTHROPIC_API_KEY!);
    expect(got.headers.authorization).toBeUndefined();
    expect(got.headers.cookie).toBeUndefined();
  });

  it('refuses a non-allowed endpoint (files upload) without calling the API, and logs it', async () => {
    const env = session.taskEnvironment(TASK, ['anthropic']);
    const before = seen.length;
    const res = await callFromGuest('/v1/files', { 'x-api-key': env.ANTHROPIC_API_KEY! }, 'secret workspace file');
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.message).toMatch(/POST \/v1\/files is not an endpoint/);
    const sneaky = await callFromGuest('/v1/messages/../files', { 'x-api-key': env.ANTHROPIC_API_KEY! }, '{}');
    expect(sneaky.status).toBe(403);
    expect(seen.length).toBe(before);
    await session.audit.flush();
    const log = await readGatewayLog(join(dataDir, 'tasks', TASK, GATEWAY_LOG_FILE));
    const refused = log.filter((r) => r.decision === 'refused-endpoint');
    expect(refused.map((r) => r.endpoint)).toContain('/v1/files');
    expect(refused.every((r) => r.status === 403 && r.taskId === TASK)).toBe(true);
  });

  it('refuses a call without a task placeholder key (a planted key alone gets nowhere)', async () => {
    const before = seen.length;
    const res = await callFromGuest('/v1/messages', { 'x-api-key': PLANTED_KEY }, '{}');
    expect(res.status).toBe(401);
    expect(seen.length).toBe(before);
    await session.audit.flush();
    const log = await readGatewayLog(join(dataDir, 'vms', 'ws-gw', GATEWAY_LOG_FILE));
    expect(log.some((r) => r.decision === 'refused-unknown-caller' && r.taskId === null)).toBe(true);
  });

  it('streams SSE back event by event, intact, and logs status, bytes and tokens', async () => {
    const env = session.taskEnvironment(TASK, ['anthropic']);
    let text = '';
    let firstEventSeen: () => void = () => undefined;
    const firstEvent = new Promise<void>((resolve) => (firstEventSeen = resolve));
    const done = callFromGuest('/v1/messages', { 'x-api-key': env.ANTHROPIC_API_KEY! }, JSON.stringify({ stream: true }), (res) => {
      res.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('message_start')) firstEventSeen();
      });
    });
    // Only once the guest holds the first event does the upstream produce the rest.
    await firstEvent;
    expect(text).not.toContain('message_delta');
    releaseSecondEvent();
    const res = await done;
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.body.match(/^event: /gm)).toHaveLength(3);
    expect(res.body).toContain('"output_tokens":17');
    await session.audit.flush();
    const log = await readGatewayLog(join(dataDir, 'tasks', TASK, GATEWAY_LOG_FILE));
    const last = log.at(-1)!;
    expect(last).toMatchObject({ decision: 'allowed', status: 200, endpoint: '/v1/messages', inputTokens: 42, outputTokens: 17, api: 'anthropic' });
    expect(last.bytesDown).toBe(Buffer.byteLength(res.body));
    expect(last.bytesUp).toBe(Buffer.byteLength(JSON.stringify({ stream: true })));
  });

  it('refuses calls once the task ended, and without a stored key', async () => {
    const env = session.taskEnvironment('task-gw2', ['anthropic']);
    session.taskEnded('task-gw2');
    expect((await callFromGuest('/v1/messages', { 'x-api-key': env.ANTHROPIC_API_KEY! }, '{}')).status).toBe(401);

    const callers = new GatewayCallers();
    const records: unknown[] = [];
    const keyless = new ApiGateway({ workspaceId: 'ws', api: GATEWAY_APIS.anthropic, keys: new StaticKeyStore({}), callers, audit: { record: (r) => records.push(r) }, upstream: { baseUrl: `https://127.0.0.1:${upstreamPort}`, ca } });
    const [guestEnd, gatewayEnd] = duplexPair();
    void keyless.serve(gatewayEnd);
    const reply = await exchange(guestEnd, `POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: ${callers.issue('task-k')}\r\nContent-Length: 2\r\n\r\n{}`, hasFullResponse);
    expect(reply).toMatch(/^HTTP\/1.1 401/);
    expect(reply).toContain('no anthropic API key is stored on the host');
    expect(records).toMatchObject([{ decision: 'refused-no-key', taskId: 'task-k', status: 401 }]);
    await keyless.close();
    expect(() => new ApiGateway({ workspaceId: 'ws', api: GATEWAY_APIS.anthropic, keys: new StaticKeyStore({}), callers, audit: { record: () => undefined }, upstream: { baseUrl: 'http://127.0.0.1:1' } })).toThrow(/must be an https URL/);
  });
});
