/**
 * A scripted guest end of the egress relay for unit tests: plays vrelay's side by hand (finds
 * the HELLO, answers it behind leftovers, records every later frame). Not used by the app; the
 * real guest is tested in test/conformance/egress-relay*.test.ts.
 */
import type { Duplex } from 'node:stream';
import { encodeFrame, encodeHelloAck, FRAME, FrameReader, MAGIC, type Frame } from './relay-frames.js';

/** Plays vrelay's side by hand: finds the HELLO, answers, records every later frame. */
export class ScriptedGuest {
  readonly frames: Frame[] = [];
  readonly hellos: Buffer[] = [];
  bytesBeforeHello = 0;
  private seen = Buffer.alloc(0);
  private reader: FrameReader | null = null;

  constructor(
    readonly end: Duplex,
    private readonly ack: { guestWindow: number; maxStreams?: number; listenPort?: number; leftovers?: Buffer } = { guestWindow: 1 << 18 },
  ) {
    end.on('data', (c: Buffer) => this.onData(c));
  }

  private onData(c: Buffer): void {
    if (this.reader) {
      for (const f of this.reader.push(c)) this.frames.push({ ...f, payload: Buffer.from(f.payload) });
      return;
    }
    this.seen = Buffer.concat([this.seen, c]);
    const at = this.seen.indexOf(Buffer.concat([Buffer.from([FRAME.hello, 0, 0, 0, 0, 0, 0, 0, 28]), MAGIC]));
    if (at < 0 || this.seen.length < at + 38) return;
    this.bytesBeforeHello = at;
    const nonce = this.seen.subarray(at + 17, at + 33);
    this.hellos.push(Buffer.from(nonce));
    this.reader = new FrameReader();
    const rest = this.seen.subarray(at + 38);
    // An earlier session's leftovers and a stale answer come first; the host MUST skip them.
    this.end.write(Buffer.concat([
      this.ack.leftovers ?? Buffer.alloc(0),
      encodeHelloAck({ nonce: Buffer.alloc(16, 0xee), guestWindow: 1, maxStreams: 1, listenPort: 1 }),
      encodeHelloAck({ nonce, guestWindow: this.ack.guestWindow, maxStreams: this.ack.maxStreams ?? 256, listenPort: this.ack.listenPort ?? 3128 }),
    ]));
    if (rest.length) this.onData(rest);
  }

  send(type: (typeof FRAME)[keyof typeof FRAME], stream: number, payload?: Buffer): void {
    this.end.write(encodeFrame(type, stream, payload));
  }

  /** DATA bytes the host sent on a stream. */
  dataOn(stream: number): number {
    return this.frames.filter((f) => f.type === FRAME.data && f.stream === stream).reduce((n, f) => n + f.payload.length, 0);
  }

  has(type: number, stream: number): boolean {
    return this.frames.some((f) => f.type === type && f.stream === stream);
  }
}
