/* vrelay's channel output and streams (see vrelay.h, RELAY.md). */
#define _GNU_SOURCE
#include "vrelay.h"

bool debug_on;
bool quiet;
void trace(const char *fmt, ...) {
    if (!debug_on) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("vrelay: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

void die(const char *what) {
    fprintf(stderr, "vrelay: %s: %s\n", what, strerror(errno));
    exit(1);
}

void set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl O_NONBLOCK");
}

/* ── channel output ─────────────────────────────────────────────────────────────────────────── */

uint32_t out_free(void) { return OUT_CAP - (R.out_tail - R.out_head); }

/* Makes `need` contiguous bytes available at out_tail; false when the buffer is that full. */
bool out_reserve(uint32_t need) {
    if (OUT_CAP - R.out_tail >= need) return true;
    if (out_free() < need) return false;
    memmove(R.out, R.out + R.out_head, R.out_tail - R.out_head);
    R.out_tail -= R.out_head;
    R.out_head = 0;
    return true;
}


/* Queues a control frame. The reserve makes this always fit; if not, the host stopped reading. */
void emit(uint8_t type, uint32_t stream, const void *payload, uint32_t len) {
    if (!out_reserve(VR_HEADER + len + 1)) {
        session_reset("channel output full (host not reading)");
        return;
    }
    R.out_tail += (uint32_t)vr_put_frame(R.out + R.out_tail, type, stream, payload, len);
}

static void emit_window(struct stream *s, uint32_t inc) {
    uint8_t p[4];
    vr_set32(p, inc);
    s->host_credit += inc;
    emit(VR_WINDOW, s->id, p, 4);
}

void goaway(const char *why) {
    size_t n = strlen(why);
    emit(VR_GOAWAY, 0, why, (uint32_t)(n > VR_GOAWAY_MAX ? VR_GOAWAY_MAX : n));
}

/* ── streams ────────────────────────────────────────────────────────────────────────────────── */

struct stream *stream_of(uint32_t id) {
    uint32_t slot = id & SLOT_LIMIT;
    if (slot == 0 || slot > R.max_streams) return NULL;
    struct stream *s = &R.streams[slot - 1];
    return s->id == id ? s : NULL;
}

/* Frees a stream; `abort` closes its socket with a reset (SO_LINGER 0) instead of a FIN. */
void stream_close(struct stream *s, bool abort) {
    if (abort) {
        struct linger l = {1, 0};
        setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(s->fd);
    free(s->buf);
    R.win_total -= s->win;
    trace("stream %u closed%s\n", s->id, abort ? " (reset)" : "");
    memset(s, 0, sizeof *s);
    s->fd = -1;
    R.nstreams--;
}

/* Both directions finished cleanly: the stream is done. */
static void stream_maybe_done(struct stream *s) {
    if (s->read_eof && s->write_shut) stream_close(s, false);
}

void stream_reset_local(struct stream *s) {
    emit(VR_RESET, s->id, NULL, 0);
    if (s->id) stream_close(s, true);
}

/* Writes buffered host bytes to the socket; credits the host back in half-window steps. */
void stream_flush(struct stream *s) {
    while (s->len) {
        ssize_t n = write(s->fd, s->buf + s->off, s->len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) break;
            stream_reset_local(s);
            return;
        }
        s->off += (uint32_t)n;
        s->len -= (uint32_t)n;
        s->consumed += (uint32_t)n;
    }
    if (s->len == 0) s->off = 0;
    if (s->consumed >= s->win / 2 || (s->consumed && s->len == 0 && s->host_credit < s->win / 2)) {
        uint32_t inc = s->consumed;
        /* Nothing waits for the socket and half a window went through: the window limits this
         * stream, not its reader. Double it while the budget allows (bandwidth x delay under TCG
         * is larger than the initial window). */
        if (s->len == 0 && s->consumed >= s->win / 2 && s->win < R.max_window && R.win_total + s->win <= R.win_budget) {
            R.win_total += s->win;
            inc += s->win;
            s->win *= 2;
        }
        emit_window(s, inc);
        s->consumed = 0;
        if (!s->id) return;
    }
    if (s->len == 0 && s->host_fin && !s->write_shut) {
        shutdown(s->fd, SHUT_WR);
        s->write_shut = true;
        stream_maybe_done(s);
    }
}

/* Takes host bytes: straight to the socket when nothing waits, else into the stream's buffer. */
void stream_data(struct stream *s, const uint8_t *p, uint32_t n) {
    if (n > s->host_credit) { session_reset("the host sent more than the stream's window"); return; }
    if (s->host_fin) { session_reset("the host sent DATA after FIN"); return; }
    s->host_credit -= n;
    if (s->len == 0) {
        ssize_t w = write(s->fd, p, n);
        if (w < 0 && errno != EAGAIN && errno != EINTR) { stream_reset_local(s); return; }
        if (w > 0) { p += w; n -= (uint32_t)w; s->consumed += (uint32_t)w; }
    }
    if (n) {
        if (s->cap < s->win && s->len + n > s->cap) {
            uint8_t *bigger = realloc(s->buf, s->win);
            if (!bigger) { stream_reset_local(s); return; }
            s->buf = bigger;
            s->cap = s->win;
        }
        if (s->off + s->len + n > s->cap) { memmove(s->buf, s->buf + s->off, s->len); s->off = 0; }
        memcpy(s->buf + s->off + s->len, p, n);
        s->len += n;
    }
    stream_flush(s);
}

/* Reads the socket into one DATA frame built in place in the output buffer. */
void stream_read(struct stream *s) {
    uint32_t want = s->send_credit < VR_MAX_PAYLOAD ? s->send_credit : VR_MAX_PAYLOAD;
    if (!want || !out_reserve(VR_FRAME_MAX + OUT_RESERVE)) return;
    uint8_t *frame = R.out + R.out_tail;
    ssize_t n = read(s->fd, frame + VR_HEADER, want);
    if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        stream_reset_local(s);
        return;
    }
    if (n == 0) {
        s->read_eof = true;
        emit(VR_FIN, s->id, NULL, 0);
        stream_maybe_done(s);
        return;
    }
    vr_put_header(frame, VR_DATA, s->id, (uint32_t)n);
    frame[VR_HEADER + n] = VR_END_MARK;
    R.out_tail += VR_HEADER + (uint32_t)n + 1;
    s->send_credit -= (uint32_t)n;
}

void accept_one(void) {
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    int fd = accept4(R.listener, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return; /* EAGAIN, or a connection that went away before we took it */
    struct stream *s = NULL;
    for (uint32_t i = 0; i < R.max_streams; i++) if (!R.streams[i].id) { s = &R.streams[i]; break; }
    if (!s) { close(fd); return; } /* not reached: the listener is not polled at the cap */
    uint32_t slot = (uint32_t)(s - R.streams) + 1;
    R.generation = (R.generation + 1) & (0xffffffffu >> SLOT_BITS);
    if (R.generation == 0) R.generation = 1;
    memset(s, 0, sizeof *s);
    s->id = R.generation << SLOT_BITS | slot;
    s->fd = fd;
    s->send_credit = R.host_window;
    s->host_credit = R.window;
    s->win = R.window;
    R.win_total += s->win;
    R.nstreams++;
    uint8_t p[2];
    vr_set16(p, ntohs(peer.sin_port));
    emit(VR_OPEN, s->id, p, 2);
    trace("stream %u opened (port %u)\n", s->id, ntohs(peer.sin_port));
}
