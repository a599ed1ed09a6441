/**
 * Test and benchmark helpers for the egress proxy: origin servers on 127.0.0.1 (plain HTTP and
 * HTTPS with a throw-away certificate made by `openssl`), an in-memory Duplex pair that stands
 * in for an SSH channel, and raw HTTP exchanges. Not used by the app itself.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import type { EgressAuditSink, EgressRecord } from './egress-audit.js';
import type { Resolver } from './upstream.js';

/**
 * Two connected in-memory streams, like the two ends of an SSH channel: what is written to one
 * is read from the other; ending one ends the other's readable side. No socket methods.
 */
export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (peerIndex: number): Duplex =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        const p = ends[peerIndex]!;
        if (!p.destroyed) p.push(chunk);
        cb();
      },
      final(cb) {
        const p = ends[peerIndex]!;
        if (!p.destroyed) p.push(null);
        cb();
      },
      destroy(err, cb) {
        const p = ends[peerIndex]!;
        if (!p.destroyed) p.destroy();
        cb(err);
      },
    });
  ends.push(make(1), make(0));
  return [ends[0]!, ends[1]!];
}

/** Records in memory, for assertions. */
export class MemoryAudit implements EgressAuditSink {
  readonly records: EgressRecord[] = [];
  record(entry: EgressRecord): void {
    this.records.push(entry);
  }
}

/** A running origin server. */
export interface Origin {
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * Routes: `/hello` → "hello"; `/echo` → the request body back; `/bytes/<n>` → n bytes (streamed
 * from a reused 64 KiB buffer, so 100 MB cost no memory); `/headers` → the request headers as JSON.
 */
export function originHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  if (url === '/hello') {
    res.end('hello');
  } else if (url === '/echo') {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => res.end(Buffer.concat(parts)));
  } else if (url === '/headers') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.headers));
  } else if (url.startsWith('/bytes/')) {
    const total = Number(url.slice('/bytes/'.length));
    res.writeHead(200, { 'content-length': String(total), 'content-type': 'application/octet-stream' });
    const block = Buffer.alloc(64 * 1024, 0x61);
    let left = total;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, block.length);
        left -= n;
        if (!res.write(n === block.length ? block : block.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  } else {
    res.statusCode = 404;
    res.end('not found');
  }
}

async function listenOn(server: Server): Promise<Origin> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An HTTP origin on 127.0.0.1 with `originHandler`'s routes. */
export function startOrigin(): Promise<Origin> {
  return listenOn(createServer(originHandler));
}

/** A throw-away self-signed certificate for `localhost` and 127.0.0.1, made with `openssl`. */
export async function makeTestCertificate(): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'viv-egress-cert-'));
  try {
    const run = promisify(execFile);
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]).catch((e: NodeJS.ErrnoException) => {
      throw new Error(e.code === 'ENOENT' ? 'openssl is not installed (scripts/system-packages.txt lists it; run npm run setup)' : `openssl failed: ${e.message}`);
    });
    return { key: await readFile(join(dir, 'key.pem'), 'utf8'), cert: await readFile(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An HTTPS origin on 127.0.0.1 with `originHandler`'s routes. */
export function startTlsOrigin(tls: { key: string; cert: string }): Promise<Origin> {
  return listenOn(createHttpsServer(tls, originHandler) as unknown as Server);
}

/**
 * Writes `request` to a stream and collects everything read until the stream ends, or until
 * `until` says the text so far is enough (then the stream is left open).
 */
export function exchange(stream: Duplex, request: string | Buffer, until?: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeoutMs} ms; got ${JSON.stringify(text.slice(0, 300))}`)), timeoutMs);
    const finish = (err: Error | null): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (c: Buffer): void => {
      text += c.toString('latin1');
      if (until?.(text)) finish(null);
    };
    const onEnd = (): void => finish(null);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.on('error', () => undefined);
    if (request.length) stream.write(request);
  });
}

/** True once `text` holds one complete response with a Content-Length body. */
export function hasFullResponse(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, end));
  return m ? text.length - end - 4 >= Number(m[1]) : false;
}

/** Resolves test names to fixed addresses; counts lookups. */
export function fakeResolver(table: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const r = async (host: string) => {
    calls.push(host);
    const list = table[host];
    if (!list) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return list.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
  };
  return Object.assign(r, { calls });
}

/** A plain HTTP request through the proxy (absolute form). */
export function viaProxy(proxyPort: number, url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: proxyPort, method: init.method ?? 'GET', path: url, headers: init.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString(), res }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Opens a CONNECT tunnel through the proxy with a raw socket; the body is read when refused. */
export async function connectVia(proxyPort: number, authority: string, headers: Record<string, string> = {}): Promise<{ status: number; socket: Socket; body: string }> {
  const socket = netConnect(proxyPort, '127.0.0.1');
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const head = await exchange(socket, `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${extra}\r\n`, (t) => t.includes('\r\n\r\n'));
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  if (status === 200) return { status, socket, body: '' };
  const rest = await exchange(socket, '');
  return { status, socket, body: head.slice(head.indexOf('\r\n\r\n') + 4) + rest };
}

/** Polls `cond` every 10 ms until it holds; throws after `ms`. */
export const until = async (cond: () => boolean, ms = 5_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

