/**
 * One guest connection carried by the egress relay, as a Duplex the proxy can serve like any
 * socket. Flow control per stream (RELAY.md "Credit"): the host sends DATA only within the
 * guest's window and grants the guest more as the proxy reads, so a slow destination holds back
 * only its own stream and memory per stream stays under one window.
 */
import { Duplex } from 'node:stream';
import { MAX_PAYLOAD, RelayProtocolError } from './relay-frames.js';

/** What a stream needs from its channel (relay-channel.ts). */
export interface StreamLink {
  /** Queues DATA; returns false when the transport is full (wait for `whenWritable`). */
  sendData(stream: number, payload: Buffer): boolean;
  sendFin(stream: number): void;
  sendReset(stream: number): void;
  sendWindow(stream: number, increment: number): void;
  /** Calls back once the transport drained (at once when it is not full). */
  whenWritable(cb: () => void): void;
  /** The stream is finished; later frames for its id are dropped. */
  forget(stream: number): void;
  /** The guest broke the rules on this stream: the channel ends the session. */
  violation(err: RelayProtocolError): void;
}

/** A relayed connection; `sourcePort` is the guest client's port (for logs). */
export class RelayStream extends Duplex {
  private sendCredit: number;
  /** What the guest may still send us. */
  private recvCredit: number;
  /** Bytes handed to the reader and not yet credited back to the guest. */
  private unacked = 0;
  private readerFull = false;
  private finSent = false;
  private finReceived = false;
  private resetReceived = false;
  private pending: { chunk: Buffer; cb: (err?: Error | null) => void } | null = null;

  constructor(
    private readonly link: StreamLink,
    readonly id: number,
    readonly sourcePort: number,
    guestWindow: number,
    private readonly window: number,
  ) {
    // A reader that stops holds at most its high-water mark plus one window of guest bytes.
    super({ readableHighWaterMark: Math.min(window / 2, MAX_PAYLOAD), writableHighWaterMark: MAX_PAYLOAD, allowHalfOpen: true });
    this.sendCredit = guestWindow;
    this.recvCredit = window;
  }

  /** DATA from the guest. */
  onData(payload: Buffer): void {
    if (this.finReceived) return this.link.violation(new RelayProtocolError(`stream ${this.id}: DATA after FIN`));
    if (payload.length > this.recvCredit) return this.link.violation(new RelayProtocolError(`stream ${this.id}: the guest sent more than its window`));
    this.recvCredit -= payload.length;
    this.unacked += payload.length;
    if (!this.push(payload)) this.readerFull = true;
    this.maybeCredit();
  }

  /** FIN from the guest: its side will send nothing more. */
  onFin(): void {
    if (this.finReceived) return;
    this.finReceived = true;
    this.push(null);
    this.maybeDone();
  }

  /** RESET from the guest, or the channel went away. */
  onReset(why = 'the guest reset the connection'): void {
    if (this.destroyed) return;
    this.resetReceived = true;
    this.link.forget(this.id);
    // Like a socket reset: an error for whoever listens; never an uncaught one in main.
    if (this.listenerCount('error') > 0) this.destroy(Object.assign(new Error(why), { code: 'ECONNRESET' }));
    else this.destroy();
  }

  /** WINDOW from the guest. */
  onWindow(increment: number): void {
    if (this.sendCredit + increment > 0x40000000) return this.link.violation(new RelayProtocolError(`stream ${this.id}: WINDOW overflows its credit`));
    this.sendCredit += increment;
    this.pump();
  }

  // Credit goes back in half-window steps, and only while the reader keeps up: a reader that
  // stops (push returned false) stops the guest after at most one window.
  private maybeCredit(): void {
    if (this.readerFull || this.destroyed || this.unacked === 0) return;
    if (this.unacked >= this.window / 2 || this.recvCredit < this.window / 2) {
      this.recvCredit += this.unacked;
      this.link.sendWindow(this.id, this.unacked);
      this.unacked = 0;
    }
  }

  override _read(): void {
    this.readerFull = false;
    this.maybeCredit();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pending = { chunk, cb };
    this.pump();
  }

  // Sends as much of the pending chunk as credit allows; its callback runs once all of it went
  // out and the transport can take more, which is what holds a fast writer back.
  private pump(): void {
    const p = this.pending;
    if (!p || this.destroyed) return;
    let full = false;
    while (p.chunk.length && this.sendCredit > 0) {
      const n = Math.min(p.chunk.length, this.sendCredit, MAX_PAYLOAD);
      full = !this.link.sendData(this.id, p.chunk.subarray(0, n)) || full;
      this.sendCredit -= n;
      p.chunk = p.chunk.subarray(n);
    }
    if (p.chunk.length) return; // waiting for WINDOW
    this.pending = null;
    if (full) this.link.whenWritable(() => p.cb());
    else p.cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.finSent = true;
    this.link.sendFin(this.id);
    cb();
    this.maybeDone();
  }

  private maybeDone(): void {
    if (this.finSent && this.finReceived) this.link.forget(this.id);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // A write still waiting for credit is dropped with the stream; Writable settles it.
    this.pending = null;
    if (!this.resetReceived && !(this.finSent && this.finReceived)) this.link.sendReset(this.id);
    this.link.forget(this.id);
    cb(err);
  }
}
