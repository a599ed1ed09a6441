// The guest's egress relay (guest-image/vrelay) built with ASan + UBSan for this host and driven
// over pipes by the app's own RelayChannel and EgressProxy: no VM, so every byte and every reset
// is observable, and any memory error fails the run (ASan aborts vrelay; the exit is checked).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressProxy } from '../../app/main/egress/egress-proxy.js';
import { exchange, MemoryAudit, startOrigin, until, type Origin } from '../../app/main/egress/egress-test-kit.js';
import { RelayChannel } from '../../app/main/egress/relay-channel.js';
import { encodeFrame, encodeHeader, encodeHello, FRAME, FrameReader, helloAckPrefix } from '../../app/main/egress/relay-frames.js';
import type { RelayStream } from '../../app/main/egress/relay-stream.js';

const src = resolve(import.meta.dirname, '../../guest-image/vrelay');
let work: string;
let binary: string;
let origin: Origin;
let target: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'viv-vrelay-'));
  binary = join(work, 'vrelay-asan');
  execFileSync('clang-14', ['-std=c11', '-Wall', '-Wextra', '-Werror', '-g', '-O1', '-fno-omit-frame-pointer', '-fsanitize=address,undefined',
    '-fno-sanitize-recover=all', '-o', binary, join(src, 'vrelay.c'), join(src, 'vrelay_stream.c'), join(src, 'vrelay_frame.c')]);
  origin = await startOrigin();
  target = `127.0.0.1:${origin.port}`;
});
afterAll(async () => {
  await origin?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Guest {
  child: ChildProcess;
  transport: Duplex;
  stderr: () => string;
  /** Ends the channel and resolves with vrelay's exit code (ASan makes it non-zero). */
  stop(): Promise<number | null>;
}

function startVrelay(args: string[] = []): Guest {
  const child = spawn(binary, ['-l', '127.0.0.1:0', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1' } });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const transport = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
  return {
    child,
    transport,
    stderr: () => err,
    stop: async () => {
      child.stdin!.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

function download(port: number, path: string, body?: Buffer): Promise<{ head: string; body: Buffer }> {
  return new Promise((res, rej) => {
    const s = connect(port, '127.0.0.1');
    const parts: Buffer[] = [];
    s.on('data', (d: Buffer) => parts.push(d));
    s.on('end', () => {
      const all = Buffer.concat(parts);
      const at = all.indexOf('\r\n\r\n');
      res({ head: all.subarray(0, at).toString(), body: all.subarray(at + 4) });
    });
    s.on('error', rej);
    const method = body ? 'POST' : 'GET';
    s.write(`${method} http://${target}${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${body ? `Content-Length: ${body.length}\r\n` : ''}\r\n`);
    if (body) s.write(body);
  });
}

describe('vrelay under ASan, over pipes', () => {
  it('serves 100 concurrent connections and moves 100 MB down and 8 MB up intact', async () => {
    const g = startVrelay();
    const proxy = new EgressProxy({ workspaceId: 'native', audit: new MemoryAudit(), policy: { mode: 'allowlist', hosts: [target] } });
    const ch = await RelayChannel.open(g.transport);
    ch.on('stream', (s) => void proxy.serve(s));
    const port = ch.guest.listenPort;
    expect(port).toBeGreaterThan(0);
    const many = await Promise.all(Array.from({ length: 100 }, () => download(port, '/hello')));
    expect(many.every((r) => r.body.toString() === 'hello')).toBe(true);
    expect(ch.opened).toBe(100);
    const big = await download(port, `/bytes/${100 * 1024 * 1024}`);
    expect(big.body.length).toBe(100 * 1024 * 1024);
    const up = randomBytes(8 * 1024 * 1024);
    const echoed = await download(port, '/echo', up);
    expect(createHash('sha256').update(echoed.body).digest('hex')).toBe(createHash('sha256').update(up).digest('hex'));
    await until(() => ch.streamCount === 0, 10_000);
    ch.close();
    await proxy.close();
    expect(await g.stop()).toBe(0);
    expect(g.stderr()).not.toMatch(/AddressSanitizer|runtime error/);
  });

  it('holds a stalled reader to its window while other streams flow', async () => {
    const g = startVrelay(['-w', '65536']);
    const ch = await RelayChannel.open(g.transport);
    const streams: RelayStream[] = [];
    ch.on('stream', (s) => streams.push(s));
    const slow = connect(ch.guest.listenPort, '127.0.0.1');
    slow.pause(); // the guest client never reads
    await until(() => streams.length === 1);
    const block = Buffer.alloc(65536, 0x62);
    const total = 64 * 1024 * 1024;
    let written = 0;
    const slowStream = streams[0]!;
    const pump = (): void => {
      while (written < total) {
        written += block.length;
        if (!slowStream.write(block)) return void slowStream.once('drain', pump);
      }
    };
    pump();
    // A second stream is answered at once although the first is stuck.
    const fast = connect(ch.guest.listenPort, '127.0.0.1');
    await until(() => streams.length === 2);
    streams[1]!.on('data', (d: Buffer) => streams[1]!.write(d));
    expect(await exchange(fast, 'ping', (t) => t === 'ping')).toBe('ping');
    await new Promise((r) => setTimeout(r, 300));
    // What the stuck stream took: the guest's window plus what the guest's socket buffers hold
    // (a few MiB on loopback), far below what the host had to send.
    expect(written).toBeLessThan(total / 4);
    slow.destroy();
    fast.destroy();
    ch.close();
    expect(await g.stop()).toBe(0);
    expect(g.stderr()).not.toMatch(/AddressSanitizer|runtime error/);
  });

  it('after a host reconnect mid-frame, resets the old streams without delivering the torn bytes, then serves the new session', async () => {
    const g = startVrelay();
    // Session 1 by hand, so a DATA frame can be cut in half as a crashing host would.
    const nonce1 = randomBytes(16);
    const seen: Buffer[] = [];
    const onData = (d: Buffer): void => void seen.push(d);
    g.transport.on('data', onData);
    g.transport.write(encodeHello(nonce1, 1 << 20));
    await until(() => Buffer.concat(seen).includes(helloAckPrefix(nonce1)));
    const ackAt = Buffer.concat(seen).indexOf(helloAckPrefix(nonce1));
    const ack = new FrameReader().push(Buffer.concat(seen).subarray(ackAt))[0]!;
    const oldPort = ack.payload.readUInt16BE(8 + 16 + 8);
    const client: Socket = connect(oldPort, '127.0.0.1');
    let got = Buffer.alloc(0);
    let ended = '';
    client.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
    client.on('error', (e: NodeJS.ErrnoException) => (ended = e.code ?? 'error'));
    client.on('close', () => (ended ||= 'closed'));
    const framesSoFar = (): ReturnType<FrameReader['push']> => new FrameReader().push(Buffer.concat(seen).subarray(ackAt));
    await until(() => framesSoFar().some((f) => f.type === FRAME.open));
    const opened = framesSoFar().find((f) => f.type === FRAME.open)!;
    g.transport.write(encodeFrame(FRAME.data, opened.stream, Buffer.from('whole frame ')));
    await until(() => got.toString() === 'whole frame ');
    g.transport.write(Buffer.concat([encodeHeader(FRAME.data, opened.stream, 1000), Buffer.alloc(400, 0x78)])); // torn
    g.transport.off('data', onData);
    // Session 2: RelayChannel pads and says HELLO with a new nonce.
    const ch = await RelayChannel.open(g.transport, { helloTimeoutMs: 10_000 });
    await until(() => ended !== '', 10_000);
    expect(got.toString()).toBe('whole frame '); // none of the torn frame's bytes
    expect(g.stderr()).toMatch(/session reset: frame end mark missing/);
    const streams: RelayStream[] = [];
    ch.on('stream', (s) => {
      streams.push(s);
      s.on('data', (d: Buffer) => s.write(d));
    });
    const again = connect(ch.guest.listenPort, '127.0.0.1');
    expect(await exchange(again, 'hello again', (t) => t === 'hello again')).toBe('hello again');
    again.destroy();
    ch.close();
    expect(await g.stop()).toBe(0);
    expect(g.stderr()).not.toMatch(/AddressSanitizer|runtime error/);
  });

  it('answers a protocol error with GOAWAY naming it, then takes the next HELLO', async () => {
    const g = startVrelay();
    const seen: Buffer[] = [];
    g.transport.on('data', (d: Buffer) => void seen.push(d));
    const all = (): Buffer => Buffer.concat(seen);
    const nonce1 = randomBytes(16);
    g.transport.write(encodeHello(nonce1, 65536));
    await until(() => all().includes(helloAckPrefix(nonce1)));
    g.transport.write(encodeFrame(FRAME.window, 5, Buffer.from([0, 0, 0, 0]))); // a zero increment
    await until(() => all().includes('WINDOW increment must be'));
    const frames = new FrameReader().push(all().subarray(all().indexOf(helloAckPrefix(nonce1))));
    expect(frames.map((f) => f.type)).toEqual([FRAME.helloAck, FRAME.goaway]);
    expect(frames[1]!.payload.toString()).toBe('WINDOW increment must be 1..2^30');
    const nonce2 = randomBytes(16);
    g.transport.write(encodeHello(nonce2, 65536));
    await until(() => all().includes(helloAckPrefix(nonce2)));
    expect(await g.stop()).toBe(0);
    expect(g.stderr()).not.toMatch(/AddressSanitizer|runtime error/);
  });
});
