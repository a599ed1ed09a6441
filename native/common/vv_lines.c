/* vv_lines: line framing with a hard cap, so a peer can never make us buffer without bound. */
#include "vv_lines.h"

#include <string.h>

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

static void deliver(const char *s, size_t n, vv_line_fn fn, void *ctx) {
    if (n > 0 && s[n - 1] == '\r') n--;
    if (is_blank(s, n)) return;
    fn(ctx, s, n);
}

void vv_lines_feed(vv_lines *l, const char *data, size_t n, vv_line_fn fn, void *ctx) {
    size_t cap = l->cap ? l->cap : VV_LINE_CAP;
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t chunk = nl ? (size_t)(nl - data) : n;
        if (l->discarding) {
            if (nl) l->discarding = 0;
        } else if (l->pending.len + chunk > cap) {
            /* Over the cap: report now, drop what we hold, skip to the next newline. */
            vv_buf_clear(&l->pending);
            fn(ctx, NULL, 0);
            l->discarding = nl == NULL;
        } else if (nl) {
            if (l->pending.len == 0) {
                deliver(data, chunk, fn, ctx);
            } else {
                vv_buf_add(&l->pending, data, chunk);
                deliver(l->pending.data, l->pending.len, fn, ctx);
                vv_buf_clear(&l->pending);
            }
        } else {
            if (vv_buf_add(&l->pending, data, chunk) != 0) {
                vv_buf_clear(&l->pending);
                l->pending.oom = 0;
                fn(ctx, NULL, 0);
                l->discarding = 1;
            }
        }
        if (!nl) return;
        data = nl + 1;
        n -= chunk + 1;
    }
}

void vv_lines_free(vv_lines *l) {
    vv_buf_free(&l->pending);
    l->discarding = 0;
}
