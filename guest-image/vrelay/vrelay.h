/*
 * vrelay's shared state and the stream half of it (vrelay_stream.c): what the session and main
 * loop (vrelay.c) and the stream code share. See RELAY.md for the protocol.
 */
#ifndef VRELAY_H
#define VRELAY_H
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "vrelay_frame.h"

#define IN_CAP (256u * 1024u)
#define OUT_CAP (1024u * 1024u)
/* Room kept for control frames (WINDOW, FIN, RESET, OPEN) so they are never dropped. */
#define OUT_RESERVE (64u * 1024u)
#define SLOT_BITS 10u
#define SLOT_LIMIT ((1u << SLOT_BITS) - 1u)

struct stream {
    uint32_t id;           /* 0: free slot */
    int fd;
    uint32_t send_credit;  /* bytes we may still send the host on this stream */
    uint32_t host_credit;  /* bytes the host may still send us (its view of our window) */
    uint32_t consumed;     /* host bytes written to the socket and not yet credited back */
    uint32_t win;          /* this stream's receive window: grows while its socket keeps up */
    uint8_t *buf;          /* host bytes the socket has not taken yet (at most `win`) */
    uint32_t off, len, cap;
    bool read_eof;         /* the socket's reader ended: FIN sent */
    bool host_fin;         /* the host sent FIN: shut the socket's write side once drained */
    bool write_shut;
};

struct relay {
    int in_fd, out_fd;
    bool serial;               /* stdin is a virtio-serial port: hang-up = host gone */
    bool running;              /* a HELLO was answered */
    uint32_t host_window, window, max_streams;
    /* Receive windows grow (doubling, up to max_window) for streams whose socket keeps up, as long
     * as the sum of all windows stays within win_budget: the bound on buffered host bytes. */
    uint32_t max_window, win_budget, win_total;
    struct in_addr listen_addr;
    uint16_t listen_port;
    int listener;
    uint32_t generation;       /* high bits of stream ids, so a slot's next stream gets a new id */
    uint32_t nstreams;
    struct stream *streams;    /* max_streams slots */
    uint8_t in[IN_CAP];
    uint32_t in_off, in_len;   /* unparsed input: in[in_off..in_len) */
    uint8_t out[OUT_CAP];
    uint32_t out_head, out_tail;
};

/* The one relay of this process (vrelay.c). */
extern struct relay R;

extern bool debug_on;
extern bool quiet; /* the fuzzer sets it: resets are its daily bread */

void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void die(const char *what);
void set_nonblock(int fd);

/* Channel output: free bytes; contiguous room for `need` bytes (false when that full). */
uint32_t out_free(void);
bool out_reserve(uint32_t need);
/* Queues a control frame; a full buffer resets the session (the host stopped reading). */
void emit(uint8_t type, uint32_t stream, const void *payload, uint32_t len);
void goaway(const char *why);

/* Streams: lookup by id; close (abort = RST); local reset (RESET to the host, RST to the
 * client); host bytes out to the socket; host DATA in; socket bytes into a DATA frame; accept. */
struct stream *stream_of(uint32_t id);
void stream_close(struct stream *s, bool abort);
void stream_reset_local(struct stream *s);
void stream_flush(struct stream *s);
void stream_data(struct stream *s, const uint8_t *p, uint32_t n);
void stream_read(struct stream *s);
void accept_one(void);

/* A protocol error or hang-up: every stream reset, no listener, wait for the next HELLO (vrelay.c). */
void session_reset(const char *why);

#endif
