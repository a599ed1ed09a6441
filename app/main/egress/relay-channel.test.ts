// The host end of the egress relay against a scripted guest (frames written by hand): handshake
// through leftovers, credit in both directions, half-close, resets, protocol errors, reconnect.
// The real guest (vrelay) is exercised in test/conformance/egress-relay.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { duplexPair, until } from './egress-test-kit.js';
import { RelayChannel } from './relay-channel.js';
import { attachEgressRelay } from './relay-egress.js';
import { encodeFrame, encodeWindow, FRAME, MAX_FRAME } from './relay-frames.js';
import { ScriptedGuest } from './relay-test-guest.js';
import type { RelayStream } from './relay-stream.js';

async function session(guestWindow = 1 << 18, hostWindow = 1 << 16): Promise<{ ch: RelayChannel; guest: ScriptedGuest; streams: RelayStream[] }> {
  const [host, guestEnd] = duplexPair();
  const guest = new ScriptedGuest(guestEnd, { guestWindow, leftovers: encodeFrame(FRAME.data, 7, Buffer.from('old')).subarray(0, 6) });
  const ch = await RelayChannel.open(host, { window: hostWindow, helloTimeoutMs: 5_000 });
  const streams: RelayStream[] = [];
  ch.on('stream', (s) => streams.push(s));
  return { ch, guest, streams };
}

const port = (n: number): Buffer => Buffer.from([n >> 8, n & 255]);
const open: RelayChannel[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

describe('RelayChannel', () => {
  it('pads past any torn frame, says HELLO, and finds its own answer behind leftovers and a stale one', async () => {
    const { ch, guest } = await session(1000);
    open.push(ch);
    expect(guest.bytesBeforeHello).toBeGreaterThanOrEqual(MAX_FRAME);
    expect(ch.guest).toMatchObject({ guestWindow: 1000, maxStreams: 256, listenPort: 3128 });
    expect(ch.guest.nonce.equals(guest.hellos[0]!)).toBe(true);
  });

  it('times out with a cause when nobody answers', async () => {
    const [host] = duplexPair();
    await expect(RelayChannel.open(host, { helloTimeoutMs: 200 })).rejects.toThrow(/did not answer within 200 ms.*vivarium\.egress=1/);
  });

  it('carries bytes both ways and half-closes each side on its own', async () => {
    const { ch, guest, streams } = await session();
    open.push(ch);
    guest.send(FRAME.open, 1025, port(40000));
    await until(() => streams.length === 1);
    const s = streams[0]!;
    expect([s.id, s.sourcePort]).toEqual([1025, 40000]);
    let got = '';
    let ended = false;
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('end', () => (ended = true));
    guest.send(FRAME.data, 1025, Buffer.from('GET / HTTP/1.1\r\n'));
    guest.send(FRAME.fin, 1025);
    await until(() => ended);
    expect(got).toBe('GET / HTTP/1.1\r\n');
    s.end('answer');
    await until(() => guest.has(FRAME.fin, 1025));
    expect(guest.dataOn(1025)).toBe(6);
    expect(guest.has(FRAME.reset, 1025)).toBe(false);
    expect(ch.streamCount).toBe(0);
  });

  it('sends no more than the guest’s window and resumes on WINDOW', async () => {
    const { ch, guest, streams } = await session(1000);
    open.push(ch);
    guest.send(FRAME.open, 1025, port(1));
    await until(() => streams.length === 1);
    let flushed = false;
    streams[0]!.write(Buffer.alloc(5000, 1), () => (flushed = true));
    await until(() => guest.dataOn(1025) === 1000);
    await new Promise((r) => setTimeout(r, 50));
    expect(guest.dataOn(1025)).toBe(1000);
    expect(flushed).toBe(false);
    guest.end.write(encodeWindow(1025, 4000));
    await until(() => guest.dataOn(1025) === 5000 && flushed);
  });

  it('credits the guest only as its reader reads, so a stalled reader holds at most one window', async () => {
    const { ch, guest, streams } = await session(1 << 18, 8192);
    open.push(ch);
    guest.send(FRAME.open, 1025, port(1));
    await until(() => streams.length === 1);
    const s = streams[0]!;
    s.pause();
    for (let i = 0; i < 8; i++) guest.send(FRAME.data, 1025, Buffer.alloc(1024, 2));
    await until(() => s.readableLength === 8192);
    await new Promise((r) => setTimeout(r, 50));
    const credited = (): number => guest.frames.filter((f) => f.type === FRAME.window && f.stream === 1025).reduce((n, f) => n + f.payload.readUInt32BE(0), 0);
    expect(credited()).toBe(0);
    s.resume();
    await until(() => credited() === 8192);
  });

  it('ends the session when the guest oversteps its window: GOAWAY, streams reset, the reason', async () => {
    const { ch, guest, streams } = await session(1 << 18, 4096);
    const closed = new Promise<Error | null>((r) => ch.once('close', r));
    guest.send(FRAME.open, 1025, port(1));
    await until(() => streams.length === 1);
    const errors: string[] = [];
    streams[0]!.on('error', (e) => errors.push(e.message));
    streams[0]!.pause();
    guest.send(FRAME.data, 1025, Buffer.alloc(4097));
    const reason = await closed;
    expect(reason?.message).toMatch(/broke the protocol: stream 1025: the guest sent more than its window/);
    await until(() => guest.has(FRAME.goaway, 0));
    expect(streams[0]!.destroyed).toBe(true);
    await until(() => errors.length === 1);
    expect(errors[0]).toMatch(/session ended/);
  });

  it('turns a guest RESET into ECONNRESET, and a host destroy into RESET', async () => {
    const { ch, guest, streams } = await session();
    open.push(ch);
    guest.send(FRAME.open, 1025, port(1));
    guest.send(FRAME.open, 2050, port(2));
    await until(() => streams.length === 2);
    const err = new Promise<NodeJS.ErrnoException>((r) => streams[0]!.once('error', r));
    guest.send(FRAME.reset, 1025);
    expect((await err).code).toBe('ECONNRESET');
    streams[1]!.destroy();
    await until(() => guest.has(FRAME.reset, 2050));
    // Late frames for ended streams are dropped, not errors.
    guest.send(FRAME.data, 1025, Buffer.from('late'));
    guest.send(FRAME.window, 2050, Buffer.from([0, 0, 1, 0]));
    guest.send(FRAME.open, 3075, port(3));
    await until(() => streams.length === 3);
    expect(ch.streamCount).toBe(1);
  });

  it('refuses an OPEN beyond its stream cap with RESET', async () => {
    const [host, guestEnd] = duplexPair();
    const guest = new ScriptedGuest(guestEnd);
    const ch = await RelayChannel.open(host, { maxStreams: 1 });
    open.push(ch);
    guest.send(FRAME.open, 1025, port(1));
    guest.send(FRAME.open, 2050, port(2));
    await until(() => guest.has(FRAME.reset, 2050));
    expect(ch.streamCount).toBe(1);
  });
});

describe('RelayChannel against a hostile guest', () => {
  it('survives random bytes and random valid-looking frames: the session ends with a reason, nothing throws', async () => {
    let seed = 12345;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    for (let round = 0; round < 100; round++) {
      const { ch, guest, streams } = await session(4096, 4096);
      const reasons: (Error | null)[] = [];
      ch.on('close', (r) => reasons.push(r));
      ch.on('stream', (st) => st.on('error', () => undefined));
      for (let i = 0; i < 20 && reasons.length === 0; i++) {
        if (rand(4) === 0) {
          guest.end.write(Buffer.from(Array.from({ length: 1 + rand(40) }, () => rand(256))));
        } else {
          const type = 1 + rand(8);
          const stream = rand(3) === 0 ? 0 : 1025 * (1 + rand(3));
          const len = type === FRAME.data ? 1 + rand(6000) : type === FRAME.window ? 4 : type === FRAME.open ? 2 : rand(3) === 0 ? rand(30) : 0;
          guest.end.write(encodeFrame(type as (typeof FRAME)[keyof typeof FRAME], stream, Buffer.alloc(len, rand(256))));
        }
        await new Promise((r) => setImmediate(r));
      }
      ch.close();
      expect(reasons.length).toBe(1);
      expect(streams.every((x) => x.destroyed)).toBe(true);
    }
  });
});

describe('attachEgressRelay', () => {
  let dir: string | null = null;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('opens a new session with a new nonce after the guest says GOAWAY (a restarted vrelay)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'viv-relay-'));
    const path = join(dir, 'egress.sock');
    const guests: ScriptedGuest[] = [];
    const server = createServer((sock: Socket) => guests.push(new ScriptedGuest(sock)));
    await new Promise<void>((r) => server.listen(path, r));
    const served: RelayStream[] = [];
    const ends: string[] = [];
    const relay = await attachEgressRelay(path, { serve: async (s) => void served.push(s as RelayStream) }, { reconnectDelayMs: 10, onSessionEnd: (e) => ends.push(e?.message ?? '') });
    expect(relay.port).toBe(3128);
    guests[0]!.send(FRAME.open, 1025, port(1));
    await until(() => served.length === 1);
    guests[0]!.send(FRAME.goaway, 0, Buffer.from('vrelay started: no session'));
    await until(() => relay.sessions === 2 && guests.length === 2 && guests[1]!.hellos.length === 1);
    expect(ends[0]).toMatch(/vrelay started/);
    expect(served[0]!.destroyed).toBe(true);
    expect(guests[1]!.hellos[0]!.equals(guests[0]!.hellos[0]!)).toBe(false);
    guests[1]!.send(FRAME.open, 1025, port(1));
    await until(() => served.length === 2);
    await relay.detach();
    await until(() => guests[1]!.has(FRAME.goaway, 0));
    server.close();
  });
});
