/* vrelay frame parsing and encoding (see vrelay_frame.h and RELAY.md). */
#include "vrelay_frame.h"
#include <string.h>

uint32_t vr_get32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
uint16_t vr_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
void vr_set32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
void vr_set16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* Length rule per type: exact length, or a range. Stream 0 is the session itself. */
static const char *check_shape(uint8_t type, uint32_t stream, uint32_t len) {
    switch (type) {
    case VR_HELLO:     return stream || len != VR_HELLO_LEN ? "HELLO must be on stream 0 with a 28-byte payload" : NULL;
    case VR_HELLO_ACK: return stream || len != VR_HELLO_ACK_LEN ? "HELLO_ACK must be on stream 0 with a 34-byte payload" : NULL;
    case VR_OPEN:      return !stream || len != 2 ? "OPEN needs a stream id and a 2-byte payload" : NULL;
    case VR_DATA:      return !stream || len == 0 || len > VR_MAX_PAYLOAD ? "DATA needs a stream id and 1..65536 bytes" : NULL;
    case VR_FIN:
    case VR_RESET:     return !stream || len ? "FIN/RESET need a stream id and no payload" : NULL;
    case VR_WINDOW:    return !stream || len != 4 ? "WINDOW needs a stream id and a 4-byte payload" : NULL;
    case VR_GOAWAY:    return stream || len > VR_GOAWAY_MAX ? "GOAWAY must be on stream 0 with at most 1024 bytes" : NULL;
    default:           return "unknown frame type";
    }
}

long vr_parse(const uint8_t *buf, size_t avail, struct vr_frame *f, const char **why) {
    if (avail < VR_HEADER) return 0;
    uint8_t type = buf[0];
    uint32_t stream = vr_get32(buf + 1), len = vr_get32(buf + 5);
    /* Checked before waiting for the payload, so a bad length never makes the reader wait. */
    const char *bad = check_shape(type, stream, len);
    if (bad) { *why = bad; return -1; }
    size_t total = (size_t)VR_HEADER + len + 1;
    if (avail < total) return 0;
    if (buf[total - 1] != VR_END_MARK) { *why = "frame end mark missing (torn frame)"; return -1; }
    if (type == VR_WINDOW) {
        uint32_t inc = vr_get32(buf + VR_HEADER);
        if (inc == 0 || inc > VR_MAX_WINDOW) { *why = "WINDOW increment must be 1..2^30"; return -1; }
    }
    if ((type == VR_HELLO || type == VR_HELLO_ACK) && memcmp(buf + VR_HEADER, VR_MAGIC, 8) != 0) {
        *why = "HELLO without the VRELAY1 magic";
        return -1;
    }
    f->type = type;
    f->stream = stream;
    f->len = len;
    f->payload = buf + VR_HEADER;
    return (long)total;
}

long vr_find_hello(const uint8_t *buf, size_t avail) {
    uint8_t pat[VR_HEADER + 8];
    vr_put_header(pat, VR_HELLO, 0, VR_HELLO_LEN);
    memcpy(pat + VR_HEADER, VR_MAGIC, 8);
    if (avail < sizeof pat) return -1;
    for (size_t i = 0; i + sizeof pat <= avail; i++) {
        const uint8_t *hit = memchr(buf + i, VR_HELLO, avail - sizeof pat + 1 - i);
        if (!hit) return -1;
        i = (size_t)(hit - buf);
        if (memcmp(hit, pat, sizeof pat) == 0) return (long)i;
    }
    return -1;
}

void vr_put_header(uint8_t *out, uint8_t type, uint32_t stream, uint32_t len) {
    out[0] = type;
    vr_set32(out + 1, stream);
    vr_set32(out + 5, len);
}

size_t vr_put_frame(uint8_t *out, uint8_t type, uint32_t stream, const void *payload, uint32_t len) {
    vr_put_header(out, type, stream, len);
    if (len) memcpy(out + VR_HEADER, payload, len);
    out[VR_HEADER + len] = VR_END_MARK;
    return VR_HEADER + len + 1;
}
