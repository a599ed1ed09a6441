/*
 * libFuzzer target for vrelay: the frame parser and HELLO scanner on their own, then the whole
 * guest session state machine (vrelay.c compiled in, `main` renamed) fed arbitrary host bytes
 * with three live streams on socketpairs (linked with vrelay_stream.c). Built and run by
 * vrelay/test.sh under ASan + UBSan.
 */
#define main vrelay_main
#include "vrelay.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_alone(const uint8_t *data, size_t size) {
    size_t pos = 0;
    while (pos < size) {
        struct vr_frame f;
        const char *why = NULL;
        long n = vr_parse(data + pos, size - pos, &f, &why);
        if (n == 0) break;
        if (n < 0) {
            if (!why) abort();
            long at = vr_find_hello(data + pos + 1, size - pos - 1);
            if (at < 0) break;
            pos += 1 + (size_t)at;
            continue;
        }
        if ((size_t)n != VR_HEADER + f.len + 1 || f.payload != data + pos + VR_HEADER) abort();
        /* Re-encoding a parsed frame gives back its bytes. */
        uint8_t again[VR_FRAME_MAX];
        if (vr_put_frame(again, f.type, f.stream, f.payload, f.len) != (size_t)n || memcmp(again, data + pos, (size_t)n) != 0) abort();
        pos += (size_t)n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    parse_alone(data, size);
    static int peers[3] = {-1, -1, -1};
    if (!R.streams) {
        quiet = true;
        R.max_streams = 8;
        R.window = 8192;
        R.max_window = 32768;
        R.win_budget = 65536;
        R.streams = calloc(R.max_streams, sizeof *R.streams);
        inet_pton(AF_INET, "127.0.0.1", &R.listen_addr);
        R.listen_port = 0;
        R.listener = -1;
    }
    R.running = true;
    R.host_window = 65536;
    for (uint32_t i = 0; i < 3; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0) abort();
        struct stream *s = &R.streams[i];
        memset(s, 0, sizeof *s);
        s->id = (i + 1) << SLOT_BITS | (i + 1); /* ids 1025, 2050, 3075 */
        s->fd = sv[0];
        s->send_credit = R.host_window;
        s->host_credit = R.window;
        s->win = R.window;
        R.win_total += s->win;
        peers[i] = sv[1];
        R.nstreams++;
    }
    size_t pos = 0;
    while (pos < size) {
        size_t n = size - pos < IN_CAP - R.in_len ? size - pos : IN_CAP - R.in_len;
        memcpy(R.in + R.in_len, data + pos, n);
        R.in_len += (uint32_t)n;
        pos += n;
        consume_input();
        for (uint32_t i = 0; i < R.max_streams; i++)
            if (R.streams[i].id && !R.streams[i].read_eof && R.streams[i].send_credit) stream_read(&R.streams[i]);
        R.out_head = R.out_tail = 0; /* the channel took everything */
        if (R.in_len == IN_CAP) abort(); /* consume_input always leaves room for a frame */
    }
    drop_everything();
    R.in_off = R.in_len = 0;
    R.out_head = R.out_tail = 0;
    for (int i = 0; i < 3; i++) { close(peers[i]); peers[i] = -1; }
    if (R.nstreams != 0 || R.win_total != 0) abort();
    return 0;
}
