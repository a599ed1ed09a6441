/**
 * The host end of the egress relay channel (RELAY.md): one byte stream to the guest's vrelay
 * (the VM's `egress` data channel socket) carrying every guest connection to 127.0.0.1:3128 as
 * a RelayStream. `open` pads, says HELLO with a fresh nonce and waits for the guest's answer with
 * that nonce, skipping whatever an earlier session left in the pipe; the guest resets every
 * stream of an earlier session when it sees the HELLO.
 *
 * The guest is untrusted: a frame that breaks the rules ends the session (GOAWAY, every stream
 * reset, `close` with the reason) and never throws out of here.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  decodeHelloAck, encodeFrame, encodeHeader, encodeHello, encodeWindow, END_MARK_BYTE, FRAME, FrameReader, helloAckPrefix,
  MAX_FRAME, NONCE_BYTES, RelayProtocolError, type Frame, type HelloAck,
} from './relay-frames.js';
import { RelayStream, type StreamLink } from './relay-stream.js';

/** Options of a relay channel. */
export interface RelayChannelOptions {
  /** The host's receive window per stream (bytes the guest may send before a WINDOW). */
  window?: number;
  /** How long to wait for the guest's HELLO_ACK. */
  helloTimeoutMs?: number;
  /** Streams beyond this many at once are reset at OPEN (the guest has its own cap too). */
  maxStreams?: number;
}

/**
 * The host's receive window per stream (guest -> host, the upload direction). With the reader's
 * high-water mark this bounds a stalled stream to 192 KiB in main: 48 MiB at the guest's 256 streams.
 */
export const DEFAULT_RELAY_WINDOW = 128 * 1024;

/** Events of a channel. */
export interface RelayChannelEvents {
  /** A guest connection. Its owner MUST read or destroy it. */
  stream: [RelayStream];
  /** The session ended: `null` when closed from here, else the reason. */
  close: [Error | null];
}

/** One relay session over one transport. Not reusable: open a new one to reconnect. */
export class RelayChannel extends EventEmitter<RelayChannelEvents> implements StreamLink {
  private readonly streams = new Map<number, RelayStream>();
  private readonly waiters: (() => void)[] = [];
  private closed = false;
  private closeReason: Error | null = null;
  /** Streams opened so far (for tests and stats). */
  opened = 0;

  private constructor(
    private readonly transport: Duplex,
    /** Holds the start of the frame after HELLO_ACK, if it came in the same chunk. */
    private readonly reader: FrameReader,
    readonly guest: HelloAck,
    private readonly window: number,
    private readonly maxStreams: number,
  ) {
    super();
  }

  /** Connects to a unix socket (the VM's egress data channel) and opens a session on it. */
  static connect(path: string, opts: RelayChannelOptions = {}): Promise<RelayChannel> {
    return new Promise<RelayChannel>((resolve, reject) => {
      const socket = netConnect(path);
      socket.once('error', (e) => reject(new Error(`cannot connect to the egress relay channel ${path}: ${e.message}`)));
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        RelayChannel.open(socket, opts).then(resolve, reject);
      });
    });
  }

  /**
   * Opens a session on a connected transport: padding, HELLO, then the guest's HELLO_ACK with
   * our nonce. Rejects (and destroys the transport) on timeout, end of input or a GOAWAY.
   */
  static open(transport: Duplex, opts: RelayChannelOptions = {}): Promise<RelayChannel> {
    const window = opts.window ?? DEFAULT_RELAY_WINDOW;
    const nonce = randomBytes(NONCE_BYTES);
    const prefix = helloAckPrefix(nonce);
    return new Promise<RelayChannel>((resolve, reject) => {
      let seen = Buffer.alloc(0);
      const fail = (why: string): void => {
        cleanup();
        transport.destroy();
        reject(new Error(why));
      };
      const timer = setTimeout(() => fail(`the guest's egress relay did not answer within ${opts.helloTimeoutMs ?? 30_000} ms (is vrelay running? vivarium.egress=1)`), opts.helloTimeoutMs ?? 30_000);
      const onEnd = (): void => fail('the egress relay channel closed during the handshake');
      const onError = (e: Error): void => fail(`the egress relay channel failed during the handshake: ${e.message}`);
      const cleanup = (): void => {
        clearTimeout(timer);
        transport.off('data', onData);
        transport.off('end', onEnd);
        transport.off('close', onEnd);
        transport.off('error', onError);
      };
      // Bytes before our HELLO_ACK are an earlier session's leftovers: skipped. The nonce makes
      // an old answer (or a payload that mimics one) impossible to mistake for ours.
      const onData = (chunk: Buffer): void => {
        seen = Buffer.concat([seen, chunk]);
        const at = seen.indexOf(prefix);
        if (at < 0) {
          seen = seen.subarray(Math.max(0, seen.length - prefix.length + 1));
          return;
        }
        let frames: Frame[];
        const reader = new FrameReader();
        try {
          frames = reader.push(seen.subarray(at));
        } catch (e) {
          return fail(`bad HELLO_ACK from the guest: ${(e as Error).message}`);
        }
        if (frames.length === 0) return; // the rest of it is on its way
        cleanup();
        const ack = decodeHelloAck(frames[0]!.payload);
        const channel = new RelayChannel(transport, reader, ack, window, opts.maxStreams ?? 1024);
        channel.attach();
        // Frames right behind the answer (a GOAWAY saying why the guest cannot listen) count too.
        for (const f of frames.slice(1)) if (!channel.closed) channel.onFrame(f);
        if (channel.closed) return reject(channel.closeReason ?? new Error('the guest ended the relay session'));
        if (ack.listenPort === 0) {
          channel.close();
          return reject(new Error('the guest\'s egress relay could not listen for connections (see the guest console)'));
        }
        resolve(channel);
      };
      transport.on('data', onData);
      transport.once('end', onEnd);
      transport.once('close', onEnd);
      transport.on('error', onError);
      // Zero padding longer than any frame: a guest still inside a frame of an earlier session
      // finds a zero end mark there, drops it, and scans for this HELLO (RELAY.md "Sessions").
      transport.write(Buffer.alloc(MAX_FRAME + 16));
      transport.write(encodeHello(nonce, window));
    });
  }

  private attach(): void {
    this.transport.on('data', (chunk: Buffer) => this.onChunk(chunk));
    this.transport.on('drain', () => this.flushWaiters());
    this.transport.once('end', () => this.shutdown(new Error('the egress relay channel closed')));
    this.transport.once('close', () => this.shutdown(new Error('the egress relay channel closed')));
    this.transport.on('error', (e: Error) => this.shutdown(new Error(`the egress relay channel failed: ${e.message}`)));
  }

  private onChunk(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      return this.violation(e as RelayProtocolError);
    }
    for (const f of frames) {
      if (this.closed) return;
      this.onFrame(f);
    }
  }

  private onFrame(f: Frame): void {
    switch (f.type) {
      case FRAME.open: {
        if (this.streams.has(f.stream)) return this.violation(new RelayProtocolError(`OPEN for stream ${f.stream}, which is open`));
        if (this.streams.size >= this.maxStreams) return this.sendReset(f.stream);
        const s = new RelayStream(this, f.stream, f.payload.readUInt16BE(0), this.guest.guestWindow, this.window);
        this.streams.set(f.stream, s);
        this.opened++;
        this.emit('stream', s);
        return;
      }
      case FRAME.goaway:
        return this.shutdown(new Error(`the guest's egress relay ended the session: ${f.payload.toString('utf8')}`), false);
      case FRAME.hello:
      case FRAME.helloAck:
        return this.violation(new RelayProtocolError('unexpected HELLO/HELLO_ACK in a running session'));
      default:
    }
    // Frames for a stream that ended here are late, not wrong: dropped.
    const s = this.streams.get(f.stream);
    if (!s) return;
    if (f.type === FRAME.data) s.onData(f.payload);
    else if (f.type === FRAME.fin) s.onFin();
    else if (f.type === FRAME.reset) s.onReset();
    else if (f.type === FRAME.window) s.onWindow(f.payload.readUInt32BE(0));
  }

  /** Open streams now. */
  get streamCount(): number {
    return this.streams.size;
  }

  // ── StreamLink ────────────────────────────────────────────────────────────────────────────

  sendData(stream: number, payload: Buffer): boolean {
    if (this.closed) return true;
    // Three writes under cork: no copy of the payload.
    this.transport.cork();
    this.transport.write(encodeHeader(FRAME.data, stream, payload.length));
    this.transport.write(payload);
    const ok = this.transport.write(END_MARK_BYTE);
    this.transport.uncork();
    return ok;
  }

  sendFin(stream: number): void {
    this.control(encodeFrame(FRAME.fin, stream));
  }

  sendReset(stream: number): void {
    this.control(encodeFrame(FRAME.reset, stream));
  }

  sendWindow(stream: number, increment: number): void {
    this.control(encodeWindow(stream, increment));
  }

  private control(frame: Buffer): void {
    if (!this.closed) this.transport.write(frame);
  }

  whenWritable(cb: () => void): void {
    if (this.closed || !this.transport.writableNeedDrain) return cb();
    this.waiters.push(cb);
  }

  private flushWaiters(): void {
    for (const cb of this.waiters.splice(0)) cb();
  }

  forget(stream: number): void {
    this.streams.delete(stream);
  }

  violation(err: RelayProtocolError): void {
    this.shutdown(new Error(`the guest's egress relay broke the protocol: ${err.message}`), true);
  }

  /** Ends the session from here: GOAWAY, every stream reset, the transport closed. */
  close(): void {
    this.shutdown(null, true);
  }

  private shutdown(reason: Error | null, sayGoaway = false): void {
    if (this.closed) return;
    if (sayGoaway && !this.transport.destroyed) {
      const why = Buffer.from(reason?.message ?? 'the host closed the relay', 'utf8').subarray(0, 1024);
      this.transport.write(encodeFrame(FRAME.goaway, 0, why));
    }
    this.closed = true;
    this.closeReason = reason;
    for (const s of [...this.streams.values()]) s.onReset('the egress relay session ended');
    this.streams.clear();
    this.flushWaiters();
    this.transport.end();
    setTimeout(() => this.transport.destroy(), 1_000).unref();
    this.emit('close', reason);
  }
}
