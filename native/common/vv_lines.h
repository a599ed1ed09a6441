/* vv_lines: splits a byte stream into protocol lines, enforcing the line cap (PROTOCOL.md §2). */
#ifndef VV_LINES_H
#define VV_LINES_H

#include <stddef.h>

#include "vv_buf.h"

/* The protocol's line cap: 1 MiB, not counting the newline. */
#define VV_LINE_CAP ((size_t)1048576)

/* Called for each complete line (without "\n" or a trailing "\r"), or with line == NULL
 * once per line that exceeded the cap (as soon as the cap is passed; the rest of that line,
 * up to and including its newline, is then discarded). Blank lines are not reported. */
typedef void (*vv_line_fn)(void *ctx, const char *line, size_t len);

/* Line splitter state. Zero-initialise, then set `cap` (0 means VV_LINE_CAP). */
typedef struct vv_lines {
    vv_buf pending;
    size_t cap;
    int discarding; /* inside an oversized line, waiting for its newline */
} vv_lines;

/* Feeds n bytes; calls `fn` for every line they complete. */
void vv_lines_feed(vv_lines *l, const char *data, size_t n, vv_line_fn fn, void *ctx);
/* Frees the pending bytes. A partial last line (no newline before EOF) is dropped. */
void vv_lines_free(vv_lines *l);

#endif
