/**
 * The main-process side of the helper protocol (native/protocol/PROTOCOL.md): spawns one helper
 * process, does the handshake, correlates requests and replies by id, surfaces events, applies
 * timeouts, and turns every failure into a VivError. This module is the only one that speaks
 * the protocol; the VM state machine uses it through HelperPort (helper-process.ts).
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { z } from 'zod';
import { VivError, errorCodeSchema } from '../../shared/errors.js';
import {
  HELPER_PROTOCOL_VERSION,
  helloResultSchema,
  parseEvent,
  startResultSchema,
  statusResultSchema,
  stopResultSchema,
  vmSpecSchema,
  type HelloResult,
  type HelperEvent,
  type StartResult,
  type StatusResult,
  type StopParams,
  type StopResult,
  type VmSpec,
} from './helper-protocol.js';

/** The protocol's line cap (§2); a longer line from a helper is a protocol error. */
export const LINE_CAP = 1_048_576;
const STDERR_TAIL = 4096;

/** The process handle the client drives (a ChildProcess, or a scripted fake in unit tests). */
export interface HelperProcess {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  pid?: number | undefined;
  kill(signal?: NodeJS.Signals): boolean;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
}

/** Options for `HelperClient.launch`. */
export interface HelperClientOptions {
  /** The helper executable and its arguments (helpers take none today). */
  command: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Deadline for hello/status and stop's own bookkeeping. Default 15 s. */
  requestTimeoutMs?: number;
  /** Deadline for start: the helper's 30 s plus a margin for a loaded machine. Default 60 s. */
  startTimeoutMs?: number;
  /** Receives each stderr line of the helper (logs; never parsed). */
  onLog?: (line: string) => void;
  /** Replaces child_process.spawn (unit tests only). */
  spawnProcess?: (command: string, args: string[], env: NodeJS.ProcessEnv) => HelperProcess;
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: VivError) => void;
  timer: NodeJS.Timeout;
}

/** One helper process and the protocol session on it. */
export class HelperClient {
  /** The helper's `hello` answer (set by launch). */
  hello!: HelloResult;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(e: HelperEvent) => void>();
  private readonly exitListeners = new Set<(detail: { code: number | null; signal: string | null; stderr: string }) => void>();
  private stderrTail = '';
  private exited: { code: number | null; signal: string | null } | null = null;
  private readonly exitPromise: Promise<void>;
  private readonly protocolErrors: string[] = [];

  private constructor(
    private readonly proc: HelperProcess,
    private readonly opts: HelperClientOptions,
  ) {
    let markExited!: () => void;
    this.exitPromise = new Promise<void>((r) => (markExited = r));
    proc.stdin.on('error', () => undefined); // EPIPE once the helper is gone: reported via 'exit'
    proc.once('error', (err) => {
      this.failAll(new VivError('internal', `Could not run the VM helper ${opts.command}: ${err.message}`, err));
    });
    proc.once('exit', (code, signal) => {
      this.exited = { code, signal };
      const detail = { code, signal, stderr: this.stderrTail };
      this.failAll(
        new VivError('internal', `The VM helper exited (${signal ? `signal ${signal}` : `status ${code}`}) before answering`, {
          exitCode: code,
          signal,
          stderr: this.stderrTail,
        }),
      );
      for (const l of this.exitListeners) l(detail);
      markExited();
    });
    this.readLines(proc.stdout, (line) => this.onLine(line), () => this.protocolError(`a line longer than ${LINE_CAP} bytes`));
    this.readLines(proc.stderr, (line) => {
      this.stderrTail = (this.stderrTail + line + '\n').slice(-STDERR_TAIL);
      opts.onLog?.(line);
    });
  }

  /** Spawns the helper and performs `hello`. Rejects (and kills the process) on any failure. */
  static async launch(opts: HelperClientOptions): Promise<HelperClient> {
    const client = HelperClient.open(opts);
    try {
      await client.handshake();
    } catch (e) {
      client.proc.kill('SIGKILL');
      throw e;
    }
    return client;
  }

  /** Spawns the helper without the handshake (transcript replays drive hello themselves). */
  static open(opts: HelperClientOptions): HelperClient {
    const env = opts.env ?? process.env;
    const args = opts.args ?? [];
    const proc = opts.spawnProcess
      ? opts.spawnProcess(opts.command, args, env)
      : spawn(opts.command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    return new HelperClient(proc, opts);
  }

  /** Sends `hello` (protocol 1) and keeps the answer in `this.hello`. */
  async handshake(): Promise<HelloResult> {
    this.hello = await this.call('hello', { protocol: HELPER_PROTOCOL_VERSION, client: 'vivarium/0.1.0' }, helloResultSchema);
    return this.hello;
  }

  /**
   * Boots a VM. Resolves once the hypervisor reports it running (not when the guest is ready).
   * The spec is checked against the protocol's rules first: a spec no helper would accept is
   * refused here, naming the member, and never sent.
   */
  start(spec: VmSpec): Promise<StartResult> {
    const checked = vmSpecSchema.safeParse(spec);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const at = issue?.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || 'params';
      return Promise.reject(new VivError('invalidArgument', `start: ${at} ${issue?.message ?? 'is invalid'} (the VmSpec was not sent to the helper)`, { issues: checked.error.issues }));
    }
    return this.call('start', checked.data, startResultSchema, this.opts.startTimeoutMs ?? 60_000);
  }

  /** Stops the VM: graceful with `timeoutMs` (default 10 s), then forced; or forced at once. */
  stop(o: StopParams = {}): Promise<StopResult> {
    const timeoutMs = o.timeoutMs ?? 10_000;
    const params = { force: o.force ?? false, timeoutMs };
    return this.call('stop', params, stopResultSchema, timeoutMs + (this.opts.requestTimeoutMs ?? 15_000));
  }

  /** The VM's state as the helper sees it. */
  status(): Promise<StatusResult> {
    return this.call('status', undefined, statusResultSchema);
  }

  /** Sends any request and returns its raw result (tests and forward-compatible callers). */
  request(method: string, params?: unknown, timeoutMs = this.opts.requestTimeoutMs ?? 15_000): Promise<unknown> {
    if (this.exited) {
      return Promise.reject(new VivError('internal', `The VM helper is not running (${method} not sent)`, { stderr: this.stderrTail }));
    }
    const id = this.nextId++;
    const line = JSON.stringify(params === undefined ? { id, method } : { id, method, params });
    if (Buffer.byteLength(line) > LINE_CAP) {
      return Promise.reject(new VivError('invalidArgument', `${method}: the request is larger than the protocol's 1 MiB line cap`));
    }
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new VivError('timeout', `The VM helper did not answer ${method} within ${Math.round(timeoutMs / 1000)} s`, { stderr: this.stderrTail }));
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      this.proc.stdin.write(line + '\n');
    });
  }

  /** Subscribes to events (state, channel, exit, and unknown ones). Returns an unsubscribe function. */
  onEvent(listener: (e: HelperEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Called once if the helper process ends, for any reason; `stderr` is its bounded log tail. */
  onExit(listener: (detail: { code: number | null; signal: string | null; stderr: string }) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /** Protocol violations seen so far (malformed lines, unknown ids); for logs and tests. */
  get protocolViolations(): readonly string[] {
    return this.protocolErrors;
  }

  /** The helper's recent stderr, for error details. */
  get stderr(): string {
    return this.stderrTail;
  }

  /** The helper's pid, when known. */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /**
   * Closes stdin: the helper MUST force-stop its VM and exit within 5 s (§1). Waits for that,
   * then kills the process if it did not. Resolves with the exit status.
   */
  async close(graceMs = 5000): Promise<{ code: number | null; signal: string | null }> {
    if (!this.exited) {
      this.proc.stdin.end();
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    return this.exited ?? { code: null, signal: null };
  }

  private async call<S extends z.ZodType>(method: string, params: unknown, schema: S, timeoutMs?: number): Promise<z.infer<S>> {
    const raw = await this.request(method, params, timeoutMs);
    const r = schema.safeParse(raw);
    if (!r.success) {
      throw new VivError('internal', `The VM helper's ${method} result is malformed: ${r.error.issues[0]?.message ?? 'invalid'}`, { result: raw });
    }
    return r.data;
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.protocolError(`unparsable line: ${line.slice(0, 200)}`);
      return;
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      this.protocolError(`non-object message: ${line.slice(0, 200)}`);
      return;
    }
    const m = msg as Record<string, unknown>;
    if ('event' in m) {
      const ev = parseEvent(m);
      if (!ev) this.protocolError(`malformed event: ${line.slice(0, 200)}`);
      else for (const l of this.eventListeners) l(ev);
      return;
    }
    if (m.id === null) {
      // The helper could not read one of our lines: a bug on one side; nothing to correlate.
      this.protocolError(`the helper rejected a line: ${JSON.stringify(m.error).slice(0, 300)}`);
      return;
    }
    const p = typeof m.id === 'number' ? this.pending.get(m.id) : undefined;
    if (!p) {
      this.protocolError(`reply for an unknown id: ${line.slice(0, 200)}`);
      return;
    }
    this.pending.delete(m.id as number);
    clearTimeout(p.timer);
    if ('error' in m) p.reject(toHelperError(p.method, m.error));
    else if ('result' in m) p.resolve(m.result);
    else p.reject(new VivError('internal', `The VM helper's reply to ${p.method} has neither result nor error`));
  }

  private protocolError(what: string): void {
    this.protocolErrors.push(what);
    if (this.protocolErrors.length > 50) this.protocolErrors.shift();
    this.opts.onLog?.(`protocol error: ${what}`);
  }

  private failAll(e: VivError): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(e);
    }
  }

  /** Splits a stream into lines, refusing to buffer more than the line cap. */
  private readLines(stream: Readable, onLine: (l: string) => void, onOversized?: () => void): void {
    let buf = '';
    let discarding = false;
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      let start = 0;
      for (let nl = chunk.indexOf('\n'); nl >= 0; nl = chunk.indexOf('\n', start)) {
        const piece = chunk.slice(start, nl);
        if (!discarding) onLine((buf + piece).replace(/\r$/, ''));
        buf = '';
        discarding = false;
        start = nl + 1;
      }
      if (!discarding) {
        buf += chunk.slice(start);
        if (buf.length > LINE_CAP) {
          buf = '';
          discarding = true;
          onOversized?.();
        }
      }
    });
  }
}

/** Turns a protocol error object into a VivError, naming the method; bad shapes become `internal`. */
export function toHelperError(method: string, raw: unknown): VivError {
  const o = (raw ?? {}) as Record<string, unknown>;
  const code = errorCodeSchema.safeParse(o.code);
  const message = typeof o.message === 'string' && o.message ? o.message : `${method} failed`;
  if (!code.success) return new VivError('internal', `The VM helper answered ${method} with an unknown error code ${JSON.stringify(o.code)}: ${message}`, o.cause);
  return new VivError(code.data, message, o.cause);
}
