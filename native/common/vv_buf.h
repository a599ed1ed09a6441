/* vv_buf: a growable byte buffer. Portable C11, no global state. */
#ifndef VV_BUF_H
#define VV_BUF_H

#include <stdarg.h>
#include <stddef.h>

/* printf-format checking. MinGW builds MUST define __USE_MINGW_ANSI_STDIO=1 (C99 formats
 * such as %zu and %lld), hence gnu_printf there. */
#if defined(__MINGW32__)
#define VV_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__)
#define VV_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define VV_PRINTF(f, a)
#endif

/* A byte buffer that always keeps a terminating NUL after `len` bytes (when `data` is set). */
typedef struct vv_buf {
    char *data;
    size_t len;
    size_t cap;
    int oom; /* set once an allocation failed; later appends are dropped */
} vv_buf;

/* Appends n bytes. Returns 0, or -1 when memory ran out (the buffer stays valid). */
int vv_buf_add(vv_buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string. */
int vv_buf_adds(vv_buf *b, const char *s);
/* Appends one byte. */
int vv_buf_addc(vv_buf *b, char c);
/* Appends printf-style text. */
int vv_buf_printf(vv_buf *b, const char *fmt, ...) VV_PRINTF(2, 3);
/* Appends printf-style text from a va_list. */
int vv_buf_vprintf(vv_buf *b, const char *fmt, va_list ap) VV_PRINTF(2, 0);
/* Forgets the content but keeps the memory. */
void vv_buf_clear(vv_buf *b);
/* Drops the first n bytes. */
void vv_buf_consume(vv_buf *b, size_t n);
/* Frees the memory and resets the buffer to empty. */
void vv_buf_free(vv_buf *b);
/* The content as a C string ("" when empty). */
const char *vv_buf_str(const vv_buf *b);

#endif
