import { describe, expect, it } from 'vitest';
import {
  decodeHelloAck, encodeFrame, encodeHello, encodeHelloAck, encodeWindow, FRAME, FrameReader, helloAckPrefix, MAX_FRAME, MAX_PAYLOAD, RelayProtocolError,
} from './relay-frames.js';

const nonce = Buffer.alloc(16, 7);

describe('relay frames', () => {
  it('round-trips every kind of frame, also fed one byte at a time', () => {
    const wire = Buffer.concat([
      encodeHello(nonce, 262144),
      encodeHelloAck({ nonce, guestWindow: 1000, maxStreams: 256, listenPort: 3128 }),
      encodeFrame(FRAME.open, 1025, Buffer.from([0x12, 0x34])),
      encodeFrame(FRAME.data, 1025, Buffer.alloc(MAX_PAYLOAD, 0x61)),
      encodeWindow(1025, 4096),
      encodeFrame(FRAME.fin, 1025),
      encodeFrame(FRAME.reset, 2050),
      encodeFrame(FRAME.goaway, 0, Buffer.from('bye')),
    ]);
    const whole = new FrameReader().push(wire);
    expect(whole.map((f) => [f.type, f.stream, f.payload.length])).toEqual([
      [FRAME.hello, 0, 28], [FRAME.helloAck, 0, 34], [FRAME.open, 1025, 2], [FRAME.data, 1025, MAX_PAYLOAD],
      [FRAME.window, 1025, 4], [FRAME.fin, 1025, 0], [FRAME.reset, 2050, 0], [FRAME.goaway, 0, 3],
    ]);
    expect(decodeHelloAck(whole[1]!.payload)).toEqual({ nonce, guestWindow: 1000, maxStreams: 256, listenPort: 3128 });
    const r = new FrameReader();
    const bytewise = [];
    for (let i = 0; i < wire.length; i++) bytewise.push(...r.push(wire.subarray(i, i + 1)));
    expect(bytewise.map((f) => Buffer.from(f.payload))).toEqual(whole.map((f) => Buffer.from(f.payload)));
    expect(r.buffered).toBe(0);
  });

  it.each([
    ['an unknown type', Buffer.from([9, 0, 0, 0, 1, 0, 0, 0, 0, 0x5a]), /unknown frame type 9/],
    ['DATA on stream 0', encodeFrame(FRAME.data, 0, Buffer.from('x')), /DATA needs a stream id/],
    ['an empty DATA', Buffer.from([4, 0, 0, 0, 1, 0, 0, 0, 0, 0x5a]), /1\.\.65536 bytes/],
    ['a DATA longer than 64 KiB', Buffer.from([4, 0, 0, 0, 1, 0, 1, 0, 1]), /1\.\.65536 bytes/],
    ['a zero WINDOW', encodeWindow(1, 0), /WINDOW increment/],
    ['a torn frame (zero end mark)', Buffer.concat([encodeFrame(FRAME.data, 1, Buffer.from('ab')).subarray(0, 11), Buffer.alloc(1)]), /end mark/],
    ['a HELLO without the magic', encodeFrame(FRAME.hello, 0, Buffer.alloc(28)), /magic/],
    ['a long GOAWAY', encodeFrame(FRAME.goaway, 0, Buffer.alloc(1025)), /at most 1024/],
  ])('rejects %s', (_what, bytes, why) => {
    expect(() => new FrameReader().push(bytes)).toThrow(RelayProtocolError);
    expect(() => new FrameReader().push(bytes)).toThrow(why);
  });

  it('rejects a bad length from the header alone, without waiting for the payload', () => {
    expect(() => new FrameReader().push(Buffer.from([4, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]))).toThrow(/1\.\.65536/);
  });

  it('has a HELLO_ACK prefix that names the nonce, and padding longer than any frame', () => {
    const ack = encodeHelloAck({ nonce, guestWindow: 1, maxStreams: 1, listenPort: 1 });
    expect(ack.indexOf(helloAckPrefix(nonce))).toBe(0);
    expect(ack.indexOf(helloAckPrefix(Buffer.alloc(16, 8)))).toBe(-1);
    expect(MAX_FRAME).toBe(9 + 65536 + 1);
  });
});
