/**
 * The egress proxy of one VM (DESIGN.md "Network egress"). The core forwards the guest's
 * 127.0.0.1:3128 over SSH and hands each accepted channel to `serve`; the proxy speaks HTTP/1.1
 * on it (CONNECT tunnels and absolute-form plain HTTP, keep-alive), decides every request by
 * the workspace's policy, the SSRF rule and, for blocked hosts, the user's answer, and logs it.
 *
 * Contracts:
 * - A name is resolved only after the policy (or the user) allowed it, so blocked names never
 *   leave the host as DNS queries.
 * - A name resolving to a special address (loopback, private, link-local...) is refused unless
 *   a pattern names exactly that host:port, or the user allowed exactly this host:port.
 * - The proxy connects to an address it checked, never re-resolves.
 * - Malformed input gets a 4xx and a closed connection; nothing a guest sends throws out of here.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { EgressPrompt, PromptAnswer, PromptOutcome } from './decision-gate.js';
import { EgressAuthorizer, type EgressTarget } from './egress-authorizer.js';
import type { EgressAuditSink, EgressRecord } from './egress-audit.js';
import type { EgressPolicy } from './egress-policy.js';
import { formatHostPort, normalizeHost } from './host-pattern.js';
import { forwardHttp, rawResponse, runTunnel, type ForwardResult } from './proxy-forward.js';
import { TaskCredentials } from './task-credentials.js';
import { dialFirst, type ResolvedAddress, type Resolver } from './upstream.js';

/** Resource limits of one VM's proxy. */
export interface EgressLimits {
  /** Concurrent guest connections; more get 503. Destination connections share this bound. */
  maxConnections: number;
  /** Largest request head (request line + headers) in bytes; larger gets 431. */
  maxHeaderBytes: number;
  /** A guest connection with no request in progress, or a destination with no traffic, is closed after this. */
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  /** How long a blocked request waits for the user. */
  decisionTimeoutMs: number;
  /** How many requests may wait for the user at once. */
  maxPendingPrompts: number;
}

/** Defaults: generous for agents, bounded for a hostile guest. */
export const DEFAULT_EGRESS_LIMITS: EgressLimits = {
  maxConnections: 256,
  maxHeaderBytes: 16 * 1024,
  idleTimeoutMs: 120_000,
  connectTimeoutMs: 15_000,
  decisionTimeoutMs: 120_000,
  maxPendingPrompts: 32,
};

/** Options of one VM's proxy. */
export interface EgressProxyOptions {
  workspaceId: string;
  policy: EgressPolicy;
  audit: EgressAuditSink;
  resolver?: Resolver;
  limits?: Partial<EgressLimits>;
}

/** Who a guest connection belongs to, when the caller knows. */
export interface ConnectionTag {
  taskId?: string | null;
}

interface ClientState {
  tag: ConnectionTag;
  inflight: number;
  /** Set once the connection became a CONNECT tunnel: no more HTTP, no client idle timer. */
  tunnel: boolean;
  idle: NodeJS.Timeout | null;
  drained: (() => void)[];
  abort: AbortController;
}

/** Events of the proxy, for the core to pass on to the UI. */
export interface EgressProxyEvents {
  /** A blocked request waits for the user (decision `awaiting-user`). */
  prompt: [EgressPrompt];
  /** A prompt stopped waiting: answered, expired, or its request went away. */
  promptSettled: [string, PromptOutcome];
  /** A request finished; the same record goes to the audit sink. */
  record: [EgressRecord];
  /** "Allow always" changed the policy: the core MUST persist it for the workspace. */
  policy: [EgressPolicy];
}

/** One VM's proxy. Create per VM; `close` when the VM stops. */
export class EgressProxy extends EventEmitter<EgressProxyEvents> {
  readonly workspaceId: string;
  readonly limits: EgressLimits;
  private readonly decider: EgressAuthorizer;
  private readonly audit: EgressAuditSink;
  private readonly http: HttpServer;
  private readonly credentials = new TaskCredentials();
  private readonly clients = new Map<Duplex, ClientState>();
  private upstreams = 0;
  private closed = false;

  constructor(opts: EgressProxyOptions) {
    super();
    this.workspaceId = opts.workspaceId;
    this.limits = { ...DEFAULT_EGRESS_LIMITS, ...opts.limits };
    this.audit = opts.audit;
    this.decider = new EgressAuthorizer({
      workspaceId: opts.workspaceId,
      policy: opts.policy,
      resolver: opts.resolver,
      decisionTimeoutMs: this.limits.decisionTimeoutMs,
      maxPendingPrompts: this.limits.maxPendingPrompts,
      // Someone (the core, for the UI) must listen on the proxy, or nobody could answer.
      canAsk: () => this.listenerCount('prompt') > 0,
    });
    this.decider.on('prompt', (p) => this.emit('prompt', p));
    this.decider.on('promptSettled', (id, o) => this.emit('promptSettled', id, o));
    this.decider.on('policy', (p) => this.emit('policy', p));
    // Only the parser of node:http is used; it never listens. Its own timers need a real
    // socket's setTimeout, so idleness is enforced here (see armIdle) instead.
    this.http = createServer({ maxHeaderSize: this.limits.maxHeaderBytes, keepAliveTimeout: this.limits.idleTimeoutMs });
    this.http.maxHeadersCount = 200;
    this.http.on('request', (req, res) => void this.onRequest(req, res).catch((e: unknown) => this.internalError(res, e)));
    this.http.on('connect', (req: IncomingMessage, stream: Duplex, head: Buffer) => void this.onConnect(req, stream, head).catch(() => stream.destroy()));
    this.http.on('upgrade', (_req: IncomingMessage, stream: Duplex) => {
      endStream(stream, rawResponse(501, 'Not Implemented', 'Vivarium egress proxy: protocol upgrades over plain HTTP are not forwarded; use https (CONNECT).'));
    });
    this.http.on('clientError', (err: NodeJS.ErrnoException, stream: Duplex) => this.onClientError(err, stream));
  }

  /** The policy in force (normalised). */
  get policy(): EgressPolicy {
    return this.decider.policy;
  }

  /** Replaces the policy; later requests use it (open tunnels are not cut). Throws on a bad pattern. */
  setPolicy(policy: EgressPolicy): void {
    this.decider.setPolicy(policy);
  }

  /** Proxy credentials for a task, so its requests are logged under it (see task-credentials.ts). */
  issueTaskToken(taskId: string): string {
    return this.credentials.issue(taskId);
  }

  /** Forgets a task's credentials when it ends. */
  revokeTaskToken(taskId: string): void {
    this.credentials.revoke(taskId);
  }

  /** The requests waiting for the user now. */
  prompts(): EgressPrompt[] {
    return this.decider.prompts();
  }

  /** Answers a prompt. Returns false when it no longer waits. */
  answer(promptId: string, answer: PromptAnswer): boolean {
    return this.decider.answer(promptId, answer);
  }

  /** Live counts, for the UI and for tests. */
  stats(): { connections: number; upstreams: number; pendingPrompts: number } {
    return { connections: this.clients.size, upstreams: this.upstreams, pendingPrompts: this.decider.prompts().length };
  }

  /**
   * Serves one guest connection (an SSH forwarded channel, or any Duplex) as one proxy client.
   * Resolves when the connection has closed. Never rejects.
   */
  serve(stream: Duplex, tag: ConnectionTag = {}): Promise<void> {
    return new Promise<void>((resolve) => {
      stream.once('close', () => resolve());
      stream.on('error', () => stream.destroy());
      if (this.closed || this.clients.size >= this.limits.maxConnections) {
        const why = this.closed ? 'the proxy is shutting down' : `too many connections (limit ${this.limits.maxConnections})`;
        endStream(stream, rawResponse(503, 'Service Unavailable', `Vivarium egress proxy: ${why}.`));
        return;
      }
      const state: ClientState = { tag, inflight: 0, tunnel: false, idle: null, drained: [], abort: new AbortController() };
      this.clients.set(stream, state);
      stream.once('close', () => {
        if (state.idle) clearTimeout(state.idle);
        state.abort.abort();
        this.clients.delete(stream);
      });
      this.armIdle(stream, state);
      this.http.emit('connection', stream);
    });
  }

  /** Listens on a local TCP port (benchmarks, tests, a desktop proxy); each socket is `serve`d. */
  async listen(port = 0, host = '127.0.0.1'): Promise<NetServer> {
    const server = createNetServer((socket) => void this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return server;
  }

  /**
   * Refuses waiting prompts and closes every connection. Resolves once they have closed (and
   * so have been logged), or after `waitMs` at most.
   */
  async close(waitMs = 2_000): Promise<void> {
    this.closed = true;
    this.decider.close();
    const streams = [...this.clients.keys()];
    const closed = streams.map((s) => new Promise<void>((r) => s.once('close', () => r())));
    for (const stream of streams) stream.destroy();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
    // Destination sockets close a tick after their guest side; their records follow then.
    await new Promise<void>((r) => setImmediate(r));
  }

  // A connection with no request in progress closes after the idle timeout. This also bounds a
  // client that trickles a request head: the timer is only cleared once the head is complete.
  private armIdle(stream: Duplex, state: ClientState): void {
    if (state.idle) clearTimeout(state.idle);
    if (state.tunnel) return;
    state.idle = setTimeout(() => stream.destroy(), this.limits.idleTimeoutMs);
    state.idle.unref();
  }

  private begin(stream: Duplex): ClientState | undefined {
    const state = this.clients.get(stream);
    if (!state) return undefined;
    if (state.idle) clearTimeout(state.idle);
    state.idle = null;
    state.inflight++;
    return state;
  }

  private end(stream: Duplex, state: ClientState): void {
    state.inflight--;
    if (state.inflight > 0) return;
    for (const f of state.drained.splice(0)) f();
    if (!stream.destroyed) this.armIdle(stream, state);
  }

  private onClientError(err: NodeJS.ErrnoException, stream: Duplex): void {
    if (!stream.writable || stream.destroyed) {
      stream.destroy();
      return;
    }
    const tooBig = err.code === 'HPE_HEADER_OVERFLOW';
    const text = tooBig
      ? `Vivarium egress proxy: the request head is larger than ${this.limits.maxHeaderBytes} bytes.`
      : `Vivarium egress proxy: malformed request (${err.code ?? err.message}).`;
    endStream(stream, rawResponse(tooBig ? 431 : 400, tooBig ? 'Request Header Fields Too Large' : 'Bad Request', text));
  }

  private internalError(res: ServerResponse, e: unknown): void {
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Vivarium egress proxy: internal error (${(e as Error).message}).\n`);
    } else {
      res.destroy();
    }
  }

  private taskOf(req: IncomingMessage, state: ClientState): string | null {
    return this.credentials.taskFor(req.headers['proxy-authorization']) ?? state.tag.taskId ?? null;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const stream = req.socket as Duplex;
    const state = this.begin(stream);
    if (!state) return void res.destroy();
    res.once('close', () => this.end(stream, state));
    // The proxy's own answers; a 400 also closes the connection (the client is confused).
    const reply = (status: number, text: string, decision?: string): void => {
      const body = `Vivarium egress proxy: ${text}\n`;
      res.writeHead(status, {
        'content-type': 'text/plain; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        ...(decision ? { 'x-vivarium-egress': decision } : {}),
        ...(status === 400 ? { connection: 'close' } : {}),
      });
      res.end(body);
    };
    const url = req.url ?? '';
    if (/^https:\/\//i.test(url)) return reply(400, 'https URLs go through a CONNECT tunnel; send CONNECT host:443.');
    if (!/^http:\/\//i.test(url)) return reply(400, 'only absolute-form requests (GET http://host/path) are proxied; set this as the HTTP proxy.');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return reply(400, 'the request URL is not valid.');
    }
    const host = normalizeHost(parsed.hostname);
    if (!host || parsed.username || parsed.password) return reply(400, `"${parsed.hostname}" is not a valid host (and URLs may not carry credentials).`);
    const port = parsed.port ? Number(parsed.port) : 80;
    const target: EgressTarget = { host, port, kind: 'http', method: req.method ?? 'GET', taskId: this.taskOf(req, state) };
    const started = Date.now();
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const auth = await this.decider.authorize(target, abort.signal);
    if (auth.outcome !== 'allowed') {
      const status = auth.outcome === 'failed' ? 502 : 403;
      const decision = auth.outcome === 'failed' ? 'allowed' : auth.decision;
      if (!res.destroyed) reply(status, `${auth.outcome === 'failed' ? auth.error : auth.reason}.`, decision);
      this.log(target, started, decision, auth.reason, null, { status, bytesUp: 0, bytesDown: 0, ...(auth.outcome === 'failed' ? { error: auth.error } : {}) });
      return;
    }
    const upstream = await this.dial(auth.addresses, port, abort.signal);
    if ('error' in upstream) {
      if (!res.destroyed) reply(upstream.status, `${upstream.error}.`, 'allowed');
      this.log(target, started, 'allowed', auth.reason, null, { status: upstream.status, bytesUp: 0, bytesDown: 0, error: upstream.error });
      return;
    }
    const address = upstream.socket.remoteAddress ?? null;
    forwardHttp(req, res, upstream.socket, { path: `${parsed.pathname}${parsed.search}`, hostHeader: parsed.host }, this.limits.idleTimeoutMs, (r) => {
      upstream.release();
      this.log(target, started, 'allowed', auth.reason, address, r);
    });
  }

  private async onConnect(req: IncomingMessage, stream: Duplex, head: Buffer): Promise<void> {
    const state = this.begin(stream);
    if (!state) return void stream.destroy();
    state.tunnel = true;
    // Earlier pipelined responses MUST be complete before the tunnel's first byte.
    state.inflight--;
    if (state.inflight > 0) await new Promise<void>((r) => state.drained.push(r));
    const refuse = (status: number, phrase: string, text: string, decision?: string): void => {
      endStream(stream, rawResponse(status, phrase, `Vivarium egress proxy: ${text}`, decision));
    };
    const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/@]+):(\d{1,5})$/.exec(req.url ?? '');
    const host = m ? normalizeHost(m[1]!) : null;
    const port = m ? Number(m[2]) : 0;
    if (!host || port < 1 || port > 65535) return refuse(400, 'Bad Request', 'CONNECT needs host:port (e.g. CONNECT api.example.com:443).');
    const target: EgressTarget = { host, port, kind: 'connect', method: null, taskId: this.taskOf(req, state) };
    const started = Date.now();
    const auth = await this.decider.authorize(target, state.abort.signal);
    if (auth.outcome !== 'allowed') {
      const decision = auth.outcome === 'failed' ? 'allowed' : auth.decision;
      const status = auth.outcome === 'failed' ? 502 : 403;
      refuse(status, status === 403 ? 'Forbidden' : 'Bad Gateway', auth.outcome === 'failed' ? auth.error : auth.reason, decision);
      this.log(target, started, decision, auth.reason, null, { status, bytesUp: 0, bytesDown: 0, ...(auth.outcome === 'failed' ? { error: auth.error } : {}) });
      return;
    }
    const upstream = await this.dial(auth.addresses, port, state.abort.signal);
    if ('error' in upstream) {
      refuse(upstream.status, upstream.status === 503 ? 'Service Unavailable' : 'Bad Gateway', upstream.error, 'allowed');
      this.log(target, started, 'allowed', auth.reason, null, { status: upstream.status, bytesUp: 0, bytesDown: 0, error: upstream.error });
      return;
    }
    const address = upstream.socket.remoteAddress ?? null;
    if (stream.destroyed) upstream.socket.destroy();
    runTunnel(stream, upstream.socket, head, this.limits.idleTimeoutMs, (r: ForwardResult) => {
      upstream.release();
      this.log(target, started, 'allowed', auth.reason, address, r);
    });
  }

  private async dial(addresses: ResolvedAddress[], port: number, abort: AbortSignal): Promise<{ socket: Socket; release: () => void } | { status: number; error: string }> {
    if (this.upstreams >= this.limits.maxConnections) return { status: 503, error: `too many destination connections (limit ${this.limits.maxConnections})` };
    this.upstreams++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.upstreams--;
    };
    try {
      const socket = await dialFirst(addresses, port, this.limits.connectTimeoutMs, abort);
      return { socket, release };
    } catch (e) {
      release();
      return { status: 502, error: `could not connect to ${formatHostPort(addresses[0]?.address ?? '?', port)}: ${(e as Error).message}` };
    }
  }

  private log(t: EgressTarget, started: number, decision: EgressRecord['decision'], reason: string, address: string | null, r: ForwardResult): void {
    const rec: EgressRecord = {
      time: new Date(started).toISOString(),
      workspaceId: this.workspaceId,
      taskId: t.taskId,
      host: t.host,
      port: t.port,
      kind: t.kind,
      method: t.method,
      decision,
      reason,
      address,
      status: r.status,
      bytesUp: r.bytesUp,
      bytesDown: r.bytesDown,
      durationMs: Date.now() - started,
      ...(r.error ? { error: r.error } : {}),
    };
    this.audit.record(rec);
    this.emit('record', rec);
  }
}

/**
 * Sends a last answer and closes a guest connection. The rest of its input is read and
 * dropped: an SSH channel reports `close` only after its readable side ended, and nobody else
 * reads it any more once node:http let go of it.
 */
function endStream(stream: Duplex, last: string): void {
  if (!stream.destroyed && stream.writable) stream.end(last);
  stream.resume();
  setTimeout(() => stream.destroy(), 1_000).unref();
}
