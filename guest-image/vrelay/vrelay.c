/*
 * vrelay: the guest end of the egress relay (RELAY.md). Listens on 127.0.0.1:3128 while a host
 * session is up and carries every accepted connection as one stream of a framed channel on
 * stdin/stdout (a virtio-serial port handed over by `vsh serial-exec`, a vsock connection, or
 * pipes in tests), with per-stream credit so a slow stream never blocks the others.
 *
 *   vrelay [-l ADDR:PORT] [-n MAX_STREAMS] [-w WINDOW] [-W LARGEST_WINDOW] [-b WINDOW_BUDGET]
 *
 * One poll loop, non-blocking fds, bounded memory: a 1 MiB channel output buffer, a 256 KiB
 * channel input buffer and, per stream, at most its window of host data its socket has not
 * taken yet; windows start at WINDOW (256 KiB) and double up to LARGEST_WINDOW (4 MiB) for
 * streams that keep up, while all windows together stay within WINDOW_BUDGET (64 MiB).
 * When stdin is a character device (a virtio-serial port), its hang-up means the host
 * disconnected: every stream is reset and vrelay waits for the next HELLO. On a pipe or socket,
 * end of input ends vrelay.
 */
#define _GNU_SOURCE
#include "vrelay.h"

struct relay R;

/* ── session ────────────────────────────────────────────────────────────────────────────────── */

static void drop_everything(void) {
    for (uint32_t i = 0; i < R.max_streams; i++) if (R.streams[i].id) stream_close(&R.streams[i], true);
    if (R.listener >= 0) close(R.listener);
    R.listener = -1;
    R.running = false;
}

/* The channel ended for good (pipe or socket): close everything and exit. */
static int finish(const char *why) {
    trace("%s\n", why);
    drop_everything();
    free(R.streams);
    return 0;
}

/* A protocol error or hang-up: reset every stream, stop listening, wait for the next HELLO. */
void session_reset(const char *why) {
    if (!quiet) fprintf(stderr, "vrelay: session reset: %s\n", why);
    bool was_running = R.running;
    drop_everything();
    R.out_head = R.out_tail = 0;
    if (was_running) goaway(why);
}

static int open_listener(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(R.listen_port), .sin_addr = R.listen_addr};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1024) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static void on_hello(const struct vr_frame *f) {
    drop_everything();
    R.out_head = R.out_tail = 0; /* a torn frame for the old host is skipped by the new one */
    uint32_t hw = vr_get32(f->payload + 8 + VR_NONCE);
    R.host_window = hw < 1 ? 1 : hw;
    R.listener = open_listener();
    uint16_t port = 0;
    char why[160] = "";
    if (R.listener >= 0) {
        struct sockaddr_in a;
        socklen_t al = sizeof a;
        getsockname(R.listener, (struct sockaddr *)&a, &al);
        port = ntohs(a.sin_port);
    } else {
        snprintf(why, sizeof why, "cannot listen on %s:%u: %s", inet_ntoa(R.listen_addr), R.listen_port, strerror(errno));
    }
    uint8_t p[VR_HELLO_ACK_LEN];
    memcpy(p, VR_MAGIC, 8);
    memcpy(p + 8, f->payload + 8, VR_NONCE);
    vr_set32(p + 8 + VR_NONCE, R.window);
    vr_set32(p + 12 + VR_NONCE, R.max_streams);
    vr_set16(p + 16 + VR_NONCE, port);
    emit(VR_HELLO_ACK, 0, p, sizeof p);
    R.running = true;
    if (why[0]) {
        if (!quiet) fprintf(stderr, "vrelay: %s\n", why);
        goaway(why);
        R.running = false;
    }
    trace("session up, host window %u, listening on port %u\n", R.host_window, port);
}

static void on_frame(const struct vr_frame *f) {
    if (f->type == VR_HELLO) { on_hello(f); return; }
    if (f->type == VR_GOAWAY) {
        if (!quiet) fprintf(stderr, "vrelay: the host ended the session: %.*s\n", (int)f->len, (const char *)f->payload);
        drop_everything();
        return;
    }
    if (f->type == VR_OPEN || f->type == VR_HELLO_ACK) { session_reset("the host sent a guest-only frame"); return; }
    struct stream *s = stream_of(f->stream);
    if (!s) return; /* a stream that ended already: late frames are dropped */
    switch (f->type) {
    case VR_DATA: stream_data(s, f->payload, f->len); break;
    case VR_FIN:
        s->host_fin = true;
        stream_flush(s);
        break;
    case VR_RESET: stream_close(s, true); break;
    case VR_WINDOW: {
        uint32_t inc = vr_get32(f->payload);
        if (inc > VR_MAX_WINDOW - s->send_credit) { session_reset("WINDOW overflows the stream's credit"); return; }
        s->send_credit += inc;
        break;
    }
    default: break;
    }
}

/* Parses what the channel delivered. Before a session, only a HELLO is looked for. */
static void consume_input(void) {
    uint32_t pos = R.in_off;
    while (pos < R.in_len) {
        if (!R.running) {
            long at = vr_find_hello(R.in + pos, R.in_len - pos);
            if (at < 0) {
                uint32_t keep = VR_HEADER + 7;
                if (R.in_len - pos > keep) pos = R.in_len - keep;
                break;
            }
            pos += (uint32_t)at;
        }
        struct vr_frame f;
        const char *why = NULL;
        long n = vr_parse(R.in + pos, R.in_len - pos, &f, &why);
        if (n == 0) break;
        if (n < 0) {
            session_reset(why);
            pos++; /* rescan from the next byte */
            continue;
        }
        pos += (uint32_t)n;
        if (!R.running && f.type != VR_HELLO) continue;
        on_frame(&f);
    }
    /* Parsing moves an offset; the rest moves to the front only when a whole frame might no
     * longer fit behind it (a copy of every byte costs real time under TCG). */
    R.in_off = pos;
    if (R.in_off == R.in_len) {
        R.in_off = R.in_len = 0;
    } else if (IN_CAP - R.in_len < VR_FRAME_MAX) {
        memmove(R.in, R.in + R.in_off, R.in_len - R.in_off);
        R.in_len -= R.in_off;
        R.in_off = 0;
    }
}

/* ── main loop ──────────────────────────────────────────────────────────────────────────────── */

static void parse_listen(const char *arg) {
    char host[64];
    const char *colon = strrchr(arg, ':');
    if (!colon || (size_t)(colon - arg) >= sizeof host) goto bad;
    memcpy(host, arg, (size_t)(colon - arg));
    host[colon - arg] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port > 65535 || inet_pton(AF_INET, host, &R.listen_addr) != 1) goto bad;
    R.listen_port = (uint16_t)port;
    return;
bad:
    fprintf(stderr, "vrelay: bad listen address '%s' (want IPv4:PORT)\n", arg);
    exit(2);
}

static uint32_t parse_num(const char *s, uint32_t lo, uint32_t hi, const char *what) {
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) { fprintf(stderr, "vrelay: %s must be %u..%u, got '%s'\n", what, lo, hi, s); exit(2); }
    return (uint32_t)v;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    debug_on = getenv("VSH_DEBUG") != NULL;
    inet_pton(AF_INET, "127.0.0.1", &R.listen_addr);
    R.listen_port = 3128;
    R.max_streams = 256;
    R.window = 256 * 1024;
    R.max_window = 4u << 20;
    R.win_budget = 64u << 20;
    int opt;
    while ((opt = getopt(argc, argv, "l:n:w:W:b:")) != -1) {
        switch (opt) {
        case 'l': parse_listen(optarg); break;
        case 'n': R.max_streams = parse_num(optarg, 1, SLOT_LIMIT, "-n (max streams)"); break;
        case 'w': R.window = parse_num(optarg, 4096, 16u << 20, "-w (window)"); break;
        case 'W': R.max_window = parse_num(optarg, 4096, 64u << 20, "-W (largest window)"); break;
        case 'b': R.win_budget = parse_num(optarg, 4096, 1u << 30, "-b (window budget)"); break;
        default: fprintf(stderr, "usage: vrelay [-l ADDR:PORT] [-n MAX_STREAMS] [-w WINDOW] [-W LARGEST_WINDOW] [-b WINDOW_BUDGET]\n"); return 2;
        }
    }
    R.in_fd = 0;
    R.out_fd = 1;
    R.listener = -1;
    R.streams = calloc(R.max_streams, sizeof *R.streams);
    if (!R.streams) die("calloc");
    struct stat st;
    if (fstat(R.in_fd, &st) < 0) die("fstat stdin");
    R.serial = S_ISCHR(st.st_mode);
    set_nonblock(R.in_fd);
    set_nonblock(R.out_fd);
    sigset_t sigio;
    sigemptyset(&sigio);
    sigaddset(&sigio, SIGIO);
    if (R.serial) {
        /* virtio_console raises SIGIO when the host side opens or closes the port. */
        sigprocmask(SIG_BLOCK, &sigio, NULL);
        if (fcntl(R.in_fd, F_SETOWN, getpid()) < 0 || fcntl(R.in_fd, F_SETFL, fcntl(R.in_fd, F_GETFL) | O_ASYNC) < 0) die("O_ASYNC");
    }
    /* A host still in a session with an earlier vrelay (this one was respawned) learns that its
     * streams are gone and reconnects; a host in its handshake skips this. */
    goaway("vrelay started: no session");
    static struct pollfd p[SLOT_LIMIT + 3];
    static uint32_t owner[SLOT_LIMIT + 3];
    for (;;) {
        nfds_t np = 0;
        bool in_room = R.in_len < IN_CAP;
        p[np++] = (struct pollfd){R.in_fd, in_room ? POLLIN : 0, 0};
        p[np++] = (struct pollfd){R.out_fd, R.out_tail > R.out_head ? POLLOUT : 0, 0};
        bool can_frame = out_free() >= VR_FRAME_MAX + OUT_RESERVE;
        if (R.running && R.listener >= 0 && R.nstreams < R.max_streams && out_free() >= OUT_RESERVE)
            p[np++] = (struct pollfd){R.listener, POLLIN, 0};
        for (uint32_t i = 0; i < R.max_streams; i++) {
            struct stream *s = &R.streams[i];
            if (!s->id) continue;
            short ev = 0;
            if (!s->read_eof && s->send_credit && can_frame) ev |= POLLIN;
            if (s->len) ev |= POLLOUT;
            /* Not polled at all when nothing is wanted: a hung-up socket would report POLLHUP
             * on every round until the host's next frame for it. */
            if (!ev) continue;
            owner[np] = s->id;
            p[np++] = (struct pollfd){s->fd, ev, 0};
        }
        if (poll(p, np, -1) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        if (p[1].revents & POLLOUT) {
            ssize_t n = write(R.out_fd, R.out + R.out_head, R.out_tail - R.out_head);
            if (n > 0) {
                R.out_head += (uint32_t)n;
                if (R.out_head == R.out_tail) R.out_head = R.out_tail = 0;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR && !R.serial) {
                die("write to the channel");
            }
        } else if ((p[1].revents & (POLLERR | POLLHUP)) && !R.serial) {
            return finish("the channel's output closed");
        }
        if (p[0].revents & POLLIN) {
            /* A virtio-serial read returns one 4 KiB guest buffer at most: read on until the
             * port is empty (or a frame's worth arrived) before parsing, one poll per batch. */
            ssize_t n = -1;
            errno = EAGAIN;
            uint32_t got = 0;
            while (got < VR_FRAME_MAX && R.in_len < IN_CAP && (n = read(R.in_fd, R.in + R.in_len, IN_CAP - R.in_len)) > 0) {
                R.in_len += (uint32_t)n;
                got += (uint32_t)n;
            }
            if (got) consume_input();
            else if (n == 0 && !R.serial) return finish("channel input ended");
            else if (n < 0 && errno != EAGAIN && errno != EINTR) die("read from the channel");
        } else if (p[0].revents & (POLLHUP | POLLERR)) {
            if (!R.serial) return finish("channel input hung up");
            /* The host side of the port is closed: nothing to relay until it comes back. */
            if (R.running || R.nstreams) session_reset("the host disconnected");
            R.in_off = R.in_len = 0;
            R.out_head = R.out_tail = 0;
            struct timespec ts = {0, 200 * 1000 * 1000};
            sigtimedwait(&sigio, NULL, &ts);
            continue;
        }
        for (nfds_t k = 2; k < np; k++) {
            if (!p[k].revents) continue;
            if (p[k].fd == R.listener) {
                for (int burst = 0; burst < 16 && R.nstreams < R.max_streams && R.listener >= 0; burst++) accept_one();
                continue;
            }
            struct stream *s = stream_of(owner[k]);
            if (!s || s->fd != p[k].fd) continue; /* closed during this round */
            if (p[k].revents & POLLOUT) stream_flush(s);
            if (!stream_of(owner[k])) continue;
            if (p[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (!s->read_eof && s->send_credit && out_free() >= VR_FRAME_MAX + OUT_RESERVE) stream_read(s);
                else if (p[k].revents & POLLERR) stream_reset_local(s);
            }
        }
    }
}
