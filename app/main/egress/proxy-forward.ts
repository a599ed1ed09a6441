/**
 * Moving bytes once a request is allowed: a CONNECT tunnel (raw bytes both ways) or one plain
 * HTTP request forwarded to the origin. Both connect to an address the proxy already checked
 * (see upstream.ts), count the bytes that crossed the destination socket, stop after an idle
 * period, and report the outcome exactly once through `done`.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** The outcome of a forwarded request, for the audit log. */
export interface ForwardResult {
  status: number | null;
  bytesUp: number;
  bytesDown: number;
  error?: string;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) plus the proxy's own: never passed on.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect',
]);

/** Copies raw headers without hop-by-hop ones (and those the Connection header names). */
export function endToEndHeaders(rawHeaders: readonly string[], extraDrop: readonly string[] = []): OutgoingHttpHeaders {
  const drop = new Set([...HOP_BY_HOP, ...extraDrop]);
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'connection') {
      for (const token of rawHeaders[i + 1]!.split(',')) drop.add(token.trim().toLowerCase());
    }
  }
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (drop.has(name)) continue;
    const value = rawHeaders[i + 1]!;
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** A raw HTTP/1.1 response for a CONNECT that will not become a tunnel. */
export function rawResponse(status: number, phrase: string, body: string, decision?: string): string {
  const text = `${body}\n`;
  return (
    `HTTP/1.1 ${status} ${phrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
    `${decision ? `X-Vivarium-Egress: ${decision}\r\n` : ''}Connection: close\r\n\r\n${text}`
  );
}

/**
 * Joins the client stream and the destination socket. Resolves `done` once both sides are
 * closed. `head` holds bytes the client sent after the CONNECT head; they go first.
 */
export function runTunnel(client: Duplex, upstream: Socket, head: Buffer, idleMs: number, done: (r: ForwardResult) => void): void {
  let finished = false;
  let error: string | undefined;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    done({ status: 200, bytesUp: upstream.bytesWritten, bytesDown: upstream.bytesRead, ...(error ? { error } : {}) });
  };
  // Every byte either way passes this socket, so its inactivity timer is the tunnel's.
  upstream.setTimeout(idleMs, () => {
    error = `the tunnel was idle for ${idleMs} ms`;
    upstream.destroy();
    client.destroy();
  });
  upstream.on('error', (e) => {
    error ??= e.message;
    client.destroy();
  });
  client.on('error', () => upstream.destroy());
  // The client is gone: nothing left to deliver.
  client.once('close', () => upstream.destroy());
  // The destination closed: let what was already piped reach the client, then end it.
  upstream.once('close', () => {
    client.end();
    const t = setTimeout(() => client.destroy(), 5_000);
    t.unref();
    finish();
  });
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (head.length) upstream.write(head);
  client.pipe(upstream);
  upstream.pipe(client);
}

/**
 * Forwards one absolute-form request to `upstream` (already connected to a checked address)
 * and streams the answer back. `hostHeader` is the authority from the request URL.
 */
export function forwardHttp(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: Socket,
  target: { path: string; hostHeader: string },
  idleMs: number,
  done: (r: ForwardResult) => void,
): void {
  let finished = false;
  let error: string | undefined;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    done({ status: res.headersSent ? res.statusCode : null, bytesUp: upstream.bytesWritten, bytesDown: upstream.bytesRead, ...(error ? { error } : {}) });
  };
  const headers = endToEndHeaders(req.rawHeaders, ['host']);
  headers.host = target.hostHeader;
  // One destination connection per request: nothing is pooled across guests or tasks.
  headers.connection = 'close';
  const out = httpRequest({
    method: req.method,
    path: target.path,
    headers,
    setHost: false,
    createConnection: () => upstream,
  });
  const fail = (status: number, message: string): void => {
    error ??= message;
    if (!res.headersSent) {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-vivarium-egress': 'allowed' });
      res.end(`Vivarium egress proxy: ${message}\n`);
    } else {
      res.destroy();
    }
    upstream.destroy();
  };
  upstream.setTimeout(idleMs, () => fail(504, `the destination was idle for ${idleMs} ms`));
  out.on('error', (e) => fail(502, `the destination failed: ${e.message}`));
  out.on('response', (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEndHeaders(answer.rawHeaders));
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  req.pipe(out);
  req.on('error', () => upstream.destroy());
  res.once('close', () => {
    // The client left (or the answer is complete): release the destination either way.
    upstream.destroy();
    finish();
  });
}
