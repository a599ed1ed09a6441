/*
 * vrelay frames (RELAY.md is the contract): the byte format both ends of the egress relay
 * channel speak, with no I/O, so the parser can be fuzzed and unit-tested on the host.
 *
 *   frame   = type:u8  stream:u32be  length:u32be  payload[length]  end:u8 (= VR_END_MARK)
 *
 * The end mark lets a receiver notice that a frame was cut short by a host reconnect: the new
 * host's zero padding completes the torn frame with a zero end mark, which is a protocol error,
 * and the receiver then scans for the next HELLO instead of delivering garbage.
 */
#ifndef VRELAY_FRAME_H
#define VRELAY_FRAME_H
#include <stddef.h>
#include <stdint.h>

#define VR_HEADER 9u
#define VR_END_MARK 0x5Au
#define VR_MAX_PAYLOAD 65536u
#define VR_FRAME_MAX (VR_HEADER + VR_MAX_PAYLOAD + 1u)
#define VR_MAGIC "VRELAY1" /* 8 bytes with its NUL */
#define VR_NONCE 16u
#define VR_HELLO_LEN (8u + VR_NONCE + 4u)                /* magic, nonce, host window */
#define VR_HELLO_ACK_LEN (8u + VR_NONCE + 4u + 4u + 2u)  /* magic, nonce, guest window, max streams, listen port */
#define VR_GOAWAY_MAX 1024u
#define VR_MAX_WINDOW 0x40000000u /* 1 GiB: credit beyond this is a protocol error */

enum vr_type {
    VR_HELLO = 1,     /* host -> guest, stream 0: start a session (resets every stream) */
    VR_HELLO_ACK = 2, /* guest -> host, stream 0: the session is up */
    VR_OPEN = 3,      /* guest -> host: a new connection (payload: guest source port u16be) */
    VR_DATA = 4,      /* both: 1..65536 bytes, counted against the receiver's window */
    VR_FIN = 5,       /* both: the sender will send no more data on the stream (half-close) */
    VR_RESET = 6,     /* both: the stream is aborted in both directions */
    VR_WINDOW = 7,    /* both: payload u32be, more bytes the peer may send on the stream */
    VR_GOAWAY = 8,    /* both, stream 0: the session ends; payload: a UTF-8 reason */
};

/* One parsed frame; `payload` points into the caller's buffer. */
struct vr_frame {
    uint8_t type;
    uint32_t stream;
    uint32_t len;
    const uint8_t *payload;
};

/*
 * Parses the frame at buf[0..avail). Returns the bytes it spans (> 0) and fills *f; 0 when more
 * bytes are needed; -1 on a malformed frame, with *why naming the rule broken. Never reads past
 * buf + avail; checks type, stream, length per type, and the end mark.
 */
long vr_parse(const uint8_t *buf, size_t avail, struct vr_frame *f, const char **why);

/*
 * Offset of the first HELLO frame start (header + magic) in buf[0..avail), or -1. When -1, the
 * last VR_HEADER + 7 bytes may still begin one: a scanner keeps them and drops the rest.
 */
long vr_find_hello(const uint8_t *buf, size_t avail);

/* Writes a header for (type, stream, len) at out[0..VR_HEADER). */
void vr_put_header(uint8_t *out, uint8_t type, uint32_t stream, uint32_t len);

/* Writes a whole frame (header, payload copy, end mark) at out; returns its size. */
size_t vr_put_frame(uint8_t *out, uint8_t type, uint32_t stream, const void *payload, uint32_t len);

uint32_t vr_get32(const uint8_t *p);
uint16_t vr_get16(const uint8_t *p);
void vr_set32(uint8_t *p, uint32_t v);
void vr_set16(uint8_t *p, uint16_t v);

#endif
