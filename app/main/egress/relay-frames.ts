/**
 * The egress relay's frame format, host side (guest-image/vrelay/RELAY.md is the contract; the
 * guest's twin is vrelay_frame.c). Every frame is `type:u8 stream:u32be length:u32be payload
 * end:u8(0x5A)`. No I/O here: the reader is fed bytes and returns frames or throws.
 */

/** Frame types. */
export const FRAME = {
  hello: 1,
  helloAck: 2,
  open: 3,
  data: 4,
  fin: 5,
  reset: 6,
  window: 7,
  goaway: 8,
} as const;
export type FrameType = (typeof FRAME)[keyof typeof FRAME];

export const HEADER_BYTES = 9;
export const END_MARK = 0x5a;
export const MAX_PAYLOAD = 65536;
export const MAX_FRAME = HEADER_BYTES + MAX_PAYLOAD + 1;
export const NONCE_BYTES = 16;
export const MAGIC = Buffer.from('VRELAY1\0', 'latin1');
const HELLO_LEN = 8 + NONCE_BYTES + 4;
const HELLO_ACK_LEN = 8 + NONCE_BYTES + 4 + 4 + 2;
const GOAWAY_MAX = 1024;
/** Credit beyond this on one stream is a protocol error (both ends). */
export const MAX_WINDOW = 0x40000000;

/** A frame off the wire; `payload` may share memory with the reader's buffer. */
export interface Frame {
  type: FrameType;
  stream: number;
  payload: Buffer;
}

/** The peer broke the frame format or the protocol's rules. */
export class RelayProtocolError extends Error {
  override readonly name = 'RelayProtocolError';
}

/** A frame header. */
export function encodeHeader(type: FrameType, stream: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h[0] = type;
  h.writeUInt32BE(stream >>> 0, 1);
  h.writeUInt32BE(length >>> 0, 5);
  return h;
}

/** One whole frame (a copy; DATA is better sent as header, payload, END_MARK_BYTE). */
export function encodeFrame(type: FrameType, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([encodeHeader(type, stream, payload.length), payload, END_MARK_BYTE]);
}

export const END_MARK_BYTE = Buffer.from([END_MARK]);

/** The host's HELLO: magic, session nonce, the host's receive window per stream. */
export function encodeHello(nonce: Buffer, hostWindow: number): Buffer {
  const p = Buffer.alloc(HELLO_LEN);
  MAGIC.copy(p, 0);
  nonce.copy(p, 8, 0, NONCE_BYTES);
  p.writeUInt32BE(hostWindow, 8 + NONCE_BYTES);
  return encodeFrame(FRAME.hello, 0, p);
}

/** What the guest answers to HELLO. */
export interface HelloAck {
  nonce: Buffer;
  guestWindow: number;
  maxStreams: number;
  /** The guest port vrelay listens on (0 when it could not listen; a GOAWAY says why). */
  listenPort: number;
}

/** The guest's HELLO_ACK (used by tests that play the guest). */
export function encodeHelloAck(a: HelloAck): Buffer {
  const p = Buffer.alloc(HELLO_ACK_LEN);
  MAGIC.copy(p, 0);
  a.nonce.copy(p, 8, 0, NONCE_BYTES);
  p.writeUInt32BE(a.guestWindow, 8 + NONCE_BYTES);
  p.writeUInt32BE(a.maxStreams, 12 + NONCE_BYTES);
  p.writeUInt16BE(a.listenPort, 16 + NONCE_BYTES);
  return encodeFrame(FRAME.helloAck, 0, p);
}

/** Reads a HELLO_ACK frame's payload. */
export function decodeHelloAck(payload: Buffer): HelloAck {
  return {
    nonce: Buffer.from(payload.subarray(8, 8 + NONCE_BYTES)),
    guestWindow: payload.readUInt32BE(8 + NONCE_BYTES),
    maxStreams: payload.readUInt32BE(12 + NONCE_BYTES),
    listenPort: payload.readUInt16BE(16 + NONCE_BYTES),
  };
}

/** A WINDOW frame granting `increment` more bytes. */
export function encodeWindow(stream: number, increment: number): Buffer {
  const p = Buffer.allocUnsafe(4);
  p.writeUInt32BE(increment, 0);
  return encodeFrame(FRAME.window, stream, p);
}

/** The bytes that start the guest's answer to HELLO with `nonce`: header, magic, nonce. */
export function helloAckPrefix(nonce: Buffer): Buffer {
  return Buffer.concat([encodeHeader(FRAME.helloAck, 0, HELLO_ACK_LEN), MAGIC, nonce]);
}

function shapeError(type: number, stream: number, len: number): string | null {
  switch (type) {
    case FRAME.hello:
      return stream || len !== HELLO_LEN ? 'HELLO must be on stream 0 with a 28-byte payload' : null;
    case FRAME.helloAck:
      return stream || len !== HELLO_ACK_LEN ? 'HELLO_ACK must be on stream 0 with a 34-byte payload' : null;
    case FRAME.open:
      return !stream || len !== 2 ? 'OPEN needs a stream id and a 2-byte payload' : null;
    case FRAME.data:
      return !stream || len === 0 || len > MAX_PAYLOAD ? 'DATA needs a stream id and 1..65536 bytes' : null;
    case FRAME.fin:
    case FRAME.reset:
      return !stream || len ? 'FIN/RESET need a stream id and no payload' : null;
    case FRAME.window:
      return !stream || len !== 4 ? 'WINDOW needs a stream id and a 4-byte payload' : null;
    case FRAME.goaway:
      return stream || len > GOAWAY_MAX ? 'GOAWAY must be on stream 0 with at most 1024 bytes' : null;
    default:
      return `unknown frame type ${type}`;
  }
}

/**
 * Incremental frame reader. `push` returns every frame completed by the chunk and keeps the
 * rest; it throws RelayProtocolError on the first malformed frame (the reader is then spent).
 * Chunks of an incomplete frame are only joined once the whole frame is there, so a peer that
 * trickles bytes costs linear time; buffered bytes stay below one frame plus one chunk.
 */
export class FrameReader {
  private parts: Buffer[] = [];
  private total = 0;
  /** Bytes needed before parsing can make progress. */
  private need = HEADER_BYTES;

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.total;
  }

  push(chunk: Buffer): Frame[] {
    this.parts.push(chunk);
    this.total += chunk.length;
    if (this.total < this.need) return [];
    const buf = this.parts.length === 1 ? chunk : Buffer.concat(this.parts, this.total);
    const frames: Frame[] = [];
    let pos = 0;
    this.need = HEADER_BYTES;
    while (buf.length - pos >= HEADER_BYTES) {
      const type = buf[pos]!;
      const stream = buf.readUInt32BE(pos + 1);
      const len = buf.readUInt32BE(pos + 5);
      const bad = shapeError(type, stream, len);
      if (bad) throw new RelayProtocolError(bad);
      const total = HEADER_BYTES + len + 1;
      if (buf.length - pos < total) {
        this.need = total;
        break;
      }
      if (buf[pos + total - 1] !== END_MARK) throw new RelayProtocolError('frame end mark missing (torn frame)');
      const payload = buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + len);
      if (type === FRAME.window) {
        const inc = payload.readUInt32BE(0);
        if (inc === 0 || inc > MAX_WINDOW) throw new RelayProtocolError('WINDOW increment must be 1..2^30');
      }
      if ((type === FRAME.hello || type === FRAME.helloAck) && !payload.subarray(0, 8).equals(MAGIC)) {
        throw new RelayProtocolError('HELLO without the VRELAY1 magic');
      }
      frames.push({ type: type as FrameType, stream, payload });
      pos += total;
    }
    const rest = buf.subarray(pos);
    this.parts = rest.length ? [rest] : [];
    this.total = rest.length;
    return frames;
  }
}
