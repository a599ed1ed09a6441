/**
 * The harness bridge is reachable only from this machine and only with the token, from our own
 * origin; bad calls come back as contract errors. (The harness is test tooling, but it drives a
 * real core that can boot VMs and read folders, so it must not be an open door.)
 */
import { networkInterfaces } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openRealCore, type RealCore } from '../harness/real-core.js';
import { startHarness, type Harness } from '../harness/harness-server.js';

let core: RealCore;
let harness: Harness;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'viv-e2e-sec-'));
  core = await openRealCore({ dataDir });
  harness = await startHarness({ core: core.core, rendererDir: join(process.cwd(), 'dist', 'renderer') });
});

afterAll(async () => {
  await harness?.close();
  await core?.dispose();
  await rm(dataDir, { recursive: true, force: true });
});

/** Opens a bridge socket; resolves 'open' or the HTTP status the server answered with. */
function tryConnect(url: string, origin: string): Promise<{ ws: WebSocket | null; status: number | 'open' }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { origin });
    ws.on('open', () => resolve({ ws, status: 'open' }));
    ws.on('unexpected-response', (_req, res) => resolve({ ws: null, status: res.statusCode ?? 0 }));
    ws.on('error', () => resolve({ ws: null, status: 0 }));
  });
}

function call(ws: WebSocket, id: number, channel: unknown, input: unknown): Promise<unknown> {
  return new Promise((resolve) => {
    const onMessage = (raw: WebSocket.RawData): void => {
      const msg = JSON.parse(String(raw)) as { id?: number; result?: unknown };
      if (msg.id === id) {
        ws.off('message', onMessage);
        resolve(msg.result);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, channel, input }));
  });
}

describe('harness bridge', () => {
  const bridge = (token: string): string => `${harness.origin.replace('http:', 'ws:')}/bridge?token=${encodeURIComponent(token)}`;

  it('listens on 127.0.0.1 only', async () => {
    expect(new URL(harness.origin).hostname).toBe('127.0.0.1');
    const port = new URL(harness.origin).port;
    const others = Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal);
    for (const a of others) {
      const r = await tryConnect(`ws://${a!.address}:${port}/bridge?token=${harness.token}`, `http://${a!.address}:${port}`);
      expect(r.status, a!.address).toBe(0);
    }
  });

  it('refuses a missing or wrong token, and a foreign origin', async () => {
    expect((await tryConnect(bridge(''), harness.origin)).status).toBe(403);
    expect((await tryConnect(bridge(harness.token.slice(0, -1) + 'x'), harness.origin)).status).toBe(403);
    expect((await tryConnect(bridge(harness.token), 'http://evil.example')).status).toBe(403);
  });

  it('accepts the token from our origin and answers with contract envelopes', async () => {
    const r = await tryConnect(bridge(harness.token), harness.origin);
    expect(r.status).toBe('open');
    const ws = r.ws!;
    expect(await call(ws, 1, 'workspace:list', undefined)).toEqual({ ok: true, value: [] });
    expect(await call(ws, 2, 'fs:readFile', { path: '/etc/shadow' })).toMatchObject({ ok: false, error: { code: 'invalidArgument' } });
    expect(await call(ws, 3, 'consent:inspect', { path: 42 })).toMatchObject({ ok: false, error: { code: 'invalidArgument' } });
    expect(await call(ws, 4, 'consent:inspect', { path: '/nonexistent/folder-xyz' })).toMatchObject({ ok: false, error: { code: 'notFound' } });
    ws.close();
  });

  it('serves the page with the app CSP, and no files outside the renderer build', async () => {
    const page = await fetch(`${harness.origin}/`);
    const csp = page.headers.get('content-security-policy') ?? '';
    const shellModule = './../../app/main/shell/window-options.js';
    const { CONTENT_SECURITY_POLICY } = (await import(shellModule)) as { CONTENT_SECURITY_POLICY: string };
    expect(csp.replace(/ ws:\/\/127\.0\.0\.1:\d+/, '')).toBe(CONTENT_SECURITY_POLICY);
    expect((await fetch(`${harness.origin}/..%2f..%2fpackage.json`)).status).toBe(403);
    expect((await fetch(`${harness.origin}/assets/../../../package.json`)).status).not.toBe(200);
  });
});
