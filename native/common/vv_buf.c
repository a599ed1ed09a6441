/* vv_buf: a growable byte buffer. */
#include "vv_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(vv_buf *b, size_t extra) {
    if (b->oom) return -1;
    if (extra > ((size_t)-1) / 2 - b->len) { b->oom = 1; return -1; }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) { b->oom = 1; return -1; }
    b->data = p;
    b->cap = cap;
    return 0;
}

int vv_buf_add(vv_buf *b, const void *p, size_t n) {
    if (reserve(b, n) != 0) return -1;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int vv_buf_adds(vv_buf *b, const char *s) { return vv_buf_add(b, s, strlen(s)); }

int vv_buf_addc(vv_buf *b, char c) { return vv_buf_add(b, &c, 1); }

int vv_buf_vprintf(vv_buf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || reserve(b, (size_t)n) != 0) return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int vv_buf_printf(vv_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vv_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

void vv_buf_clear(vv_buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void vv_buf_consume(vv_buf *b, size_t n) {
    if (n >= b->len) { vv_buf_clear(b); return; }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

void vv_buf_free(vv_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

const char *vv_buf_str(const vv_buf *b) { return b->data ? b->data : ""; }
