/**
 * The API gateway for one API of one VM (issue 10, DESIGN.md "Agents"): a plain-HTTP server
 * with no socket of its own — the VM's SSH remote forward hands it each guest connection to
 * 127.0.0.1:<api.guestPort> through `serve`. Per call it MUST: identify the task by its
 * placeholder key, refuse endpoints the API definition does not allow, drop every credential
 * header the guest sent, add the user's key from the KeyStore, forward over TLS to the real API,
 * stream the response back chunk by chunk (SSE arrives as it is produced), and log the call.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type { GatewayAuditSink, GatewayRecord } from './gateway-audit.js';
import type { GatewayCallers } from './gateway-callers.js';
import { isAllowedRoute, pathOnly, type ApiDefinition } from './gateway-apis.js';
import { guestResponseHeaders, upstreamRequestHeaders } from './header-filter.js';
import type { KeyStore } from './key-store.js';
import { UsageMeter } from './usage-meter.js';

/** Where one API's calls go. */
export interface UpstreamConfig {
  /** The real API's base URL; MUST be https. Default: the API definition's. */
  baseUrl?: string;
  /** Extra CA certificates to trust (tests' local CA). */
  ca?: string | Buffer;
  /** How long to wait for the upstream's response headers (default 10 min: long prompts are slow). */
  headersTimeoutMs?: number;
}

/** What a gateway needs. */
export interface ApiGatewayOptions {
  workspaceId: string;
  api: ApiDefinition;
  keys: KeyStore;
  callers: GatewayCallers;
  audit: GatewayAuditSink;
  upstream?: UpstreamConfig;
}

/** One API's gateway. */
export class ApiGateway {
  private readonly server: Server;
  private readonly base: URL;
  private readonly streams = new Set<Duplex>();
  private closed = false;

  constructor(private readonly o: ApiGatewayOptions) {
    const raw = o.upstream?.baseUrl ?? o.api.defaultBaseUrl;
    let base: URL;
    try {
      base = new URL(raw);
    } catch {
      throw new Error(`the ${o.api.id} upstream "${raw}" is not a URL`);
    }
    // The user's key MUST only travel encrypted.
    if (base.protocol !== 'https:') throw new Error(`the ${o.api.id} upstream must be an https URL, not "${raw}"`);
    this.base = base;
    this.server = createServer({ requestTimeout: 0, keepAliveTimeout: 60_000 }, (req, res) => void this.handle(req, res));
  }

  /** Serves one guest connection (an SSH forwarded channel or any Duplex). Resolves when it closes. */
  serve(stream: Duplex): Promise<void> {
    if (this.closed) {
      stream.destroy();
      return Promise.resolve();
    }
    this.streams.add(stream);
    return new Promise<void>((resolve) => {
      stream.once('close', () => {
        this.streams.delete(stream);
        resolve();
      });
      stream.on('error', () => undefined);
      this.server.emit('connection', stream);
    });
  }

  /** Ends every open guest connection (and with it its upstream call). */
  close(): Promise<void> {
    this.closed = true;
    for (const s of this.streams) s.destroy();
    this.streams.clear();
    return Promise.resolve();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const target = req.url ?? '/';
    const rec: GatewayRecord = {
      time: new Date(started).toISOString(),
      workspaceId: this.o.workspaceId,
      taskId: this.o.callers.taskFor(req.headers),
      api: this.o.api.id,
      method,
      endpoint: pathOnly(target).slice(0, 512),
      decision: 'allowed',
      status: null,
      bytesUp: 0,
      bytesDown: 0,
      inputTokens: null,
      outputTokens: null,
      durationMs: 0,
    };
    const finish = (): void => {
      rec.durationMs = Date.now() - started;
      this.o.audit.record(rec);
    };
    const refuse = (status: number, decision: GatewayRecord['decision'], message: string): void => {
      rec.decision = decision;
      rec.status = status;
      req.resume();
      sendError(res, status, message);
      finish();
    };
    if (rec.taskId === null) return refuse(401, 'refused-unknown-caller', 'Vivarium gateway: this call does not carry the placeholder key of a running task.');
    if (!isAllowedRoute(this.o.api, method, target)) {
      return refuse(403, 'refused-endpoint', `Vivarium gateway: ${method} ${rec.endpoint} is not an endpoint this agent may call.`);
    }
    const key = await this.o.keys.keyFor(this.o.api.id).catch(() => null);
    if (!key) return refuse(401, 'refused-no-key', `Vivarium gateway: no ${this.o.api.id} API key is stored on the host.`);

    const basePath = this.base.pathname.replace(/\/+$/, '');
    const upstream = httpsRequest({
      protocol: 'https:',
      hostname: this.base.hostname,
      port: this.base.port || 443,
      path: basePath + target,
      method,
      headers: { ...upstreamRequestHeaders(req.headers, this.o.api.keyHeader(key)), host: this.base.host },
      ca: this.o.upstream?.ca,
      timeout: this.o.upstream?.headersTimeoutMs ?? 600_000,
    });
    let ended = false;
    const fail = (message: string): void => {
      if (ended) return;
      ended = true;
      rec.error = message;
      upstream.destroy();
      if (!res.headersSent) {
        rec.status = 502;
        sendError(res, 502, `Vivarium gateway: the ${this.o.api.id} API could not be reached (${message}).`);
      } else {
        res.destroy();
      }
      finish();
    };
    upstream.on('timeout', () => fail('no response in time'));
    upstream.on('error', (e) => fail(e.message));
    res.on('close', () => {
      if (!res.writableFinished) fail('the guest closed the connection');
    });
    req.on('data', (c: Buffer) => (rec.bytesUp += c.length));
    req.pipe(upstream);
    upstream.on('response', (up) => {
      upstream.setTimeout(0);
      rec.status = up.statusCode ?? 502;
      const meter = new UsageMeter(up.headers['content-type']);
      res.writeHead(rec.status, guestResponseHeaders(up.headers));
      res.flushHeaders();
      // Each chunk goes on at once: SSE events reach the agent as the API produces them.
      up.on('data', (chunk: Buffer) => {
        rec.bytesDown += chunk.length;
        meter.push(chunk);
        if (!res.write(chunk)) {
          up.pause();
          res.once('drain', () => up.resume());
        }
      });
      up.on('end', () => {
        if (ended) return;
        ended = true;
        const usage = meter.usage();
        rec.inputTokens = usage.inputTokens;
        rec.outputTokens = usage.outputTokens;
        res.end();
        finish();
      });
      up.on('error', (e) => fail(e.message));
    });
  }
}

// Errors in the shape both APIs use ({type:'error', error:{type, message}}), so agents print them.
function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  const type = status === 401 ? 'authentication_error' : status === 403 ? 'permission_error' : 'api_error';
  const body = JSON.stringify({ type: 'error', error: { type, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
