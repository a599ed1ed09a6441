import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { VivError } from '../../shared/errors.js';
import { HelperClient, LINE_CAP, type HelperProcess } from './helper-client.js';
import type { HelperEvent } from './helper-protocol.js';
import { loadTranscripts, matchPattern, parseTranscript, substitute, type Transcript } from './helper-transcript.js';

// A scripted fake helper for unit tests only: it plays the helper's side of a golden
// transcript, answering each request the client sends with the transcript's expected lines
// (wildcards instantiated, ids remapped to the client's). Real helpers are replayed in
// test/conformance against the same files.

const SAMPLE: Record<string, unknown> = {
  helper: 'fake-helper',
  version: '0.0.0',
  hostArch: 'x86_64',
  available: true,
  unavailableReason: null,
  accelerators: ['tcg'],
  guestArchs: ['x86_64'],
  shareKinds: ['9p'],
  readOnlyShares: true,
  channelKinds: ['virtio-serial'],
  consoleLog: true,
  maxCpus: 2,
  maxMemoryMiB: 4096,
  diskFormats: ['raw'],
  readOnlyDisks: true,
  dataChannels: 4,
  accelerator: 'tcg',
  uptimeMs: 12,
  pid: 4242,
  forced: false,
  exitCode: null,
  message: 'scripted',
  path: '/run/fake/ssh.sock',
  kind: 'virtio-serial',
};

/** Turns an expected pattern into one concrete message a real helper could send. */
function instantiate(pattern: unknown, key = ''): unknown {
  if (typeof pattern === 'string') {
    if (pattern === '*') {
      if (key === 'features') return instantiate({ accelerators: '*', guestArchs: '*', shareKinds: '*', readOnlyShares: '*', channelKinds: '*', consoleLog: '*', snapshots: false, maxCpus: '*', maxMemoryMiB: '*', diskFormats: '*', readOnlyDisks: '*', dataChannels: '*' });
      if (!(key in SAMPLE)) throw new Error(`no sample value for "${key}"`);
      return SAMPLE[key];
    }
    if (pattern === '<abs-path>') return '/abs/path';
    const anyOf = /^<any-of:([^|>]*)/.exec(pattern);
    if (anyOf) return anyOf[1];
    return pattern;
  }
  if (Array.isArray(pattern)) return pattern.map((p) => instantiate(p));
  if (pattern !== null && typeof pattern === 'object') {
    return Object.fromEntries(Object.entries(pattern).map(([k, v]) => [k, instantiate(v, k)]));
  }
  return pattern;
}

const isClientRequest = (p: unknown): p is { id: number; method: string; params?: unknown } =>
  p !== null && typeof p === 'object' && typeof (p as { id?: unknown }).id === 'number' && typeof (p as { method?: unknown }).method === 'string';

class ScriptedHelper extends EventEmitter implements HelperProcess {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly pid = 99999;
  private i = 0;
  private readonly idMap = new Map<number, number>();
  private buf = '';
  readonly mismatches: string[] = [];

  constructor(
    private readonly t: Transcript,
    private readonly vars: Record<string, string>,
  ) {
    super();
    this.stdin.setEncoding('utf8');
    this.stdin.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        this.onRequest(JSON.parse(line) as { id: number; method: string; params?: unknown });
      }
    });
    this.stdin.on('end', () => {
      if (this.t.steps[this.i]?.kind === 'closeStdin') this.i++;
      this.play();
    });
    this.stderr.write('fake helper ready\n');
    setImmediate(() => this.play());
  }

  kill(): boolean {
    this.finish(null, 'SIGKILL');
    return true;
  }

  private onRequest(req: { id: number; method: string; params?: unknown }): void {
    const step = this.t.steps[this.i];
    if (step?.kind !== 'send' || !isClientRequest(step.payload)) {
      this.mismatches.push(`unexpected request ${JSON.stringify(req)} at step ${this.i}`);
      return;
    }
    const want = substitute(step.payload, this.vars) as { id: number; method: string; params?: unknown };
    const same = want.method === req.method && (want.method === 'hello' ? (want.params as { protocol?: unknown } | undefined)?.protocol === (req.params as { protocol?: unknown } | undefined)?.protocol : JSON.stringify(want.params) === JSON.stringify(req.params));
    if (!same) this.mismatches.push(`${this.t.name}:${step.line}: got ${JSON.stringify(req)}, transcript sends ${JSON.stringify(want)}`);
    this.idMap.set(want.id, req.id);
    this.i++;
    this.play();
  }

  /** Emits expected lines until the next request the client must send. */
  private play(): void {
    for (; this.i < this.t.steps.length; this.i++) {
      const step = this.t.steps[this.i]!;
      if (step.kind === 'send' && isClientRequest(step.payload)) return;
      if (step.kind === 'closeStdin') return;
      if (step.kind === 'expect') {
        const msg = instantiate(substitute(step.pattern, this.vars)) as Record<string, unknown>;
        if (typeof msg.id === 'number') msg.id = this.idMap.get(msg.id) ?? msg.id;
        for (let r = 0; r < step.repeat; r++) this.stdout.write(JSON.stringify(msg) + '\n');
      }
      if (step.kind === 'expectExit') {
        this.finish(step.code, null);
        return;
      }
      // Raw sends and sendOversized are things only a test sends; their replies (id null)
      // are played unprompted so the client proves it tolerates them.
    }
  }

  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.listenerCount('exit') === 0 && this.exitedAlready) return;
    this.exitedAlready = true;
    this.stdout.end();
    this.stderr.end();
    setImmediate(() => this.emit('exit', code, signal));
  }
  private exitedAlready = false;
}

const VARS = { KERNEL: '/k/vmlinux', INITRD: '/k/initrd', SHARE: '/s', RUNDIR: '/run/x', CONSOLE: '/run/x/console.log', CHANNEL: '/run/x/ssh.sock', DATA_CHANNEL: '/run/x/data.sock', DISK: '/k/disk.img', DISK_FORMAT: 'raw', ARCH: 'x86_64', CMDLINE: 'quiet' };

function wire(e: HelperEvent): unknown {
  return e.event === 'unknown' ? e.raw : e;
}

/** Drives HelperClient through one transcript against the scripted helper. */
async function replay(t: Transcript): Promise<void> {
  let fake!: ScriptedHelper;
  const client = HelperClient.open({ command: 'fake', spawnProcess: () => (fake = new ScriptedHelper(t, VARS)), requestTimeoutMs: 2000 });
  const events: HelperEvent[] = [];
  client.onEvent((e) => events.push(e));
  const replies = new Map<number, Promise<{ ok?: unknown; err?: unknown }>>();
  let closing: Promise<{ code: number | null }> | null = null;
  let eventsSeen = 0;
  let nullErrorsSeen = 0;
  const waitFor = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  };
  for (const step of t.steps) {
    const at = `${t.name}.jsonl:${step.line}`;
    if (step.kind === 'send' && isClientRequest(step.payload)) {
      const p = substitute(step.payload, VARS) as { id: number; method: string; params?: unknown };
      replies.set(p.id, client.request(p.method, p.params).then((ok) => ({ ok }), (err: unknown) => ({ err })));
    } else if (step.kind === 'expect') {
      const pattern = substitute(step.pattern, VARS) as Record<string, unknown>;
      for (let r = 0; r < step.repeat; r++) {
        if ('event' in pattern) {
          await waitFor(() => events.length > eventsSeen);
          expect(matchPattern(pattern, wire(events[eventsSeen++]!)), `${at} events: ${JSON.stringify(events)}`).toBeNull();
        } else if (pattern.id === null || !replies.has(pattern.id as number)) {
          // Replies to lines only a test sends (malformed, oversized): the client never sent
          // them, so it must log them as protocol violations and keep serving.
          await waitFor(() => client.protocolViolations.length > nullErrorsSeen);
          expect(client.protocolViolations[nullErrorsSeen++], at).toMatch(pattern.id === null ? /rejected a line/ : /unknown id/);
        } else {
          const got = await replies.get(pattern.id as number);
          expect(got, at).toBeDefined();
          if ('result' in pattern) expect(matchPattern(pattern.result, got!.ok), `${at}: ${JSON.stringify(got)}`).toBeNull();
          else {
            expect(got!.err, at).toBeInstanceOf(VivError);
            const e = got!.err as VivError;
            const wantErr = pattern.error as { code: string; cause?: unknown };
            expect(e.code, `${at}: ${e.message}`).toBe(wantErr.code);
            if (wantErr.cause !== undefined) expect(matchPattern(wantErr.cause, e.cause), at).toBeNull();
          }
        }
      }
    } else if (step.kind === 'closeStdin') {
      closing = client.close();
    } else if (step.kind === 'expectExit') {
      expect(closing, `${step.line}: closeStdin first`).not.toBeNull();
      expect((await closing!).code, at).toBe(step.code);
    }
  }
  expect(fake.mismatches).toEqual([]);
  expect(events.length, `${t.name}: events the transcript does not list`).toBe(eventsSeen);
}

describe('HelperClient against the golden transcripts (scripted helper)', () => {
  const all = loadTranscripts();
  it('finds the fixtures', () => {
    expect(all.map((t) => t.name)).toEqual(expect.arrayContaining(['bad-channel-path-unix', 'handshake', 'call-order', 'malformed-json', 'oversized-line', 'bad-params', 'start-stop', 'forced-stop', 'stdin-eof', 'bad-disks', 'bad-data-channels', 'bad-data-channel-path-unix', 'start-disk-data-channel']));
  });
  for (const t of all) it(`replays ${t.name}`, () => replay(t));
});

describe('HelperClient', () => {
  const hello = { protocol: 1, helper: 'fake-helper', version: '0', hostArch: 'x86_64', available: true, unavailableReason: null, features: instantiate('*', 'features') };
  const script = (lines: string[]): Transcript => parseTranscript('inline', lines.join('\n'));

  it('launch() validates the hello result and exposes features', async () => {
    const t = script([JSON.stringify({ send: { id: 1, method: 'hello', params: { protocol: 1 } } }), JSON.stringify({ expect: { id: 1, result: hello } })]);
    const c = await HelperClient.launch({ command: 'fake', spawnProcess: () => new ScriptedHelper(t, VARS) });
    expect(c.hello.features.shareKinds).toEqual(['9p']);
    expect(c.pid).toBe(99999);
  });

  it('reads the session-2 features of a helper that predates them as "no disks, no data channels"', async () => {
    const { diskFormats: _d, readOnlyDisks: _r, dataChannels: _c, ...older } = hello.features as Record<string, unknown>;
    const t = script([JSON.stringify({ send: { id: 1, method: 'hello', params: { protocol: 1 } } }), JSON.stringify({ expect: { id: 1, result: { ...hello, features: older } } })]);
    const c = await HelperClient.launch({ command: 'fake', spawnProcess: () => new ScriptedHelper(t, VARS) });
    expect(c.hello.features).toMatchObject({ diskFormats: [], readOnlyDisks: false, dataChannels: 0 });
  });

  it('parses the data channels of a start result, [] when the helper omits them', async () => {
    const spec = { name: 'v', kernel: '/k', initrd: '/i', cmdline: 'quiet', cpus: 1, memoryMiB: 256, shares: [], channelPath: '/run/x/ssh.sock', consoleLog: '/run/x/c.log' };
    const running = { state: 'running', accelerator: 'tcg', channel: { kind: 'virtio-serial', path: '/run/x/ssh.sock' } };
    const t = script([
      JSON.stringify({ send: { id: 1, method: 'start', params: { ...spec, dataChannels: [{ name: 'egress', path: '/run/x/e.sock', guestPort: 68664 }] } } }),
      JSON.stringify({ expect: { id: 1, result: { ...running, dataChannels: [{ name: 'egress', kind: 'virtio-serial', path: '/run/x/e.sock' }] } } }),
      JSON.stringify({ send: { id: 2, method: 'start', params: spec } }),
      JSON.stringify({ expect: { id: 2, result: running } }),
    ]);
    const proc = new ScriptedHelper(t, VARS);
    const c = HelperClient.open({ command: 'fake', spawnProcess: () => proc });
    await expect(c.start({ ...spec, dataChannels: [{ name: 'egress', path: '/run/x/e.sock', guestPort: 68664 }] })).resolves.toMatchObject({ dataChannels: [{ name: 'egress', kind: 'virtio-serial', path: '/run/x/e.sock' }] });
    await expect(c.start(spec)).resolves.toMatchObject({ dataChannels: [] });
    expect(proc.mismatches).toEqual([]);
  });

  it('launch() rejects a malformed hello result as internal', async () => {
    const t = script([JSON.stringify({ send: { id: 1, method: 'hello', params: { protocol: 1 } } }), JSON.stringify({ expect: { id: 1, result: { protocol: 1, helper: 'x' } } })]);
    await expect(HelperClient.launch({ command: 'fake', spawnProcess: () => new ScriptedHelper(t, VARS) })).rejects.toMatchObject({ code: 'internal', message: expect.stringMatching(/hello result is malformed/) });
  });

  it('correlates replies that arrive out of order', async () => {
    const proc = new ScriptedHelper(script([]), VARS);
    const c = HelperClient.open({ command: 'fake', spawnProcess: () => proc });
    const a = c.request('status');
    const b = c.request('status');
    proc.stdout.write('{"id":2,"result":{"state":"running"}}\n{"event":"state","state":"running"}\n{"id":1,"result":{"state":"starting"}}\n');
    await expect(a).resolves.toEqual({ state: 'starting' });
    await expect(b).resolves.toEqual({ state: 'running' });
  });

  it('turns unknown error codes and missing members into internal errors', async () => {
    const proc = new ScriptedHelper(script([]), VARS);
    const c = HelperClient.open({ command: 'fake', spawnProcess: () => proc });
    const a = c.request('status');
    const b = c.request('status');
    proc.stdout.write('{"id":1,"error":{"code":"kaboom","message":"m"}}\n{"id":2}\n');
    await expect(a).rejects.toMatchObject({ code: 'internal', message: expect.stringMatching(/unknown error code "kaboom"/) });
    await expect(b).rejects.toMatchObject({ code: 'internal', message: expect.stringMatching(/neither result nor error/) });
  });

  it('times out a request the helper never answers', async () => {
    const c = HelperClient.open({ command: 'fake', spawnProcess: () => new ScriptedHelper(script([]), VARS), requestTimeoutMs: 50 });
    await expect(c.status()).rejects.toMatchObject({ code: 'timeout', message: expect.stringMatching(/did not answer status/) });
  });

  it('rejects pending requests with the stderr tail when the helper dies', async () => {
    const proc = new ScriptedHelper(script([]), VARS);
    const c = HelperClient.open({ command: 'fake', spawnProcess: () => proc });
    const exits: unknown[] = [];
    c.onExit((d) => exits.push(d));
    const p = c.status();
    proc.stderr.write('qemu: boom\n');
    await new Promise((r) => setTimeout(r, 10));
    proc.kill();
    await expect(p).rejects.toMatchObject({ code: 'internal', cause: { stderr: expect.stringContaining('qemu: boom') } });
    expect(exits).toHaveLength(1);
    await expect(c.status()).rejects.toMatchObject({ code: 'internal', message: expect.stringMatching(/not running/) });
  });

  it('records protocol violations and keeps going', async () => {
    const proc = new ScriptedHelper(script([]), VARS);
    const c = HelperClient.open({ command: 'fake', spawnProcess: () => proc });
    const events: HelperEvent[] = [];
    c.onEvent((e) => events.push(e));
    const p = c.request('status');
    proc.stdout.write('garbage\n[1]\n{"id":77,"result":{}}\n{"event":"exit","reason":"exploded"}\n{"event":"future","x":1}\n');
    proc.stdout.write('x'.repeat(LINE_CAP + 10));
    proc.stdout.write('\n{"id":1,"result":{"state":"stopped"}}\n');
    await expect(p).resolves.toEqual({ state: 'stopped' });
    expect(c.protocolViolations).toEqual([
      expect.stringMatching(/unparsable/),
      expect.stringMatching(/non-object/),
      expect.stringMatching(/unknown id/),
      expect.stringMatching(/malformed event/),
      expect.stringMatching(/longer than/),
    ]);
    expect(events).toEqual([{ event: 'unknown', name: 'future', raw: { event: 'future', x: 1 } }]);
  });

  it('refuses to send a request over the line cap', async () => {
    const c = HelperClient.open({ command: 'fake', spawnProcess: () => new ScriptedHelper(script([]), VARS) });
    await expect(c.request('start', { cmdline: 'a'.repeat(LINE_CAP) })).rejects.toMatchObject({ code: 'invalidArgument' });
  });

  it('reports a helper that cannot be spawned', async () => {
    await expect(HelperClient.launch({ command: '/nonexistent/qemu-helper' })).rejects.toMatchObject({ code: 'internal', message: expect.stringMatching(/Could not run the VM helper/) });
  });
});

describe('transcript matching rules (PROTOCOL.md §7)', () => {
  it('matches members recursively and honours the wildcards', () => {
    expect(matchPattern({ a: { b: 1 } }, { a: { b: 1, c: 2 }, d: 3 })).toBeNull();
    expect(matchPattern({ a: { b: 1 } }, { a: { b: 2 } })).toMatch(/\$\.a\.b: expected 1, got 2/);
    expect(matchPattern({ a: '*' }, {})).toMatch(/missing/);
    expect(matchPattern({ a: '*' }, { a: null })).toBeNull();
    expect(matchPattern('<any-of:x|y>', 'y')).toBeNull();
    expect(matchPattern('<any-of:x|y>', 'z')).toMatch(/one of x\|y/);
    expect(matchPattern('<abs-path>', '/a')).toBeNull();
    expect(matchPattern('<abs-path>', 'a')).toMatch(/absolute path/);
    expect(matchPattern([1], [1, 2])).toMatch(/expected \[1\]/);
    expect(matchPattern({ id: null }, { id: 0 })).toMatch(/expected null/);
  });
});
