/* vv_log: leveled, printf-style logging to a sink the platform provides (stderr, a file...). */
#ifndef VV_LOG_H
#define VV_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "vv_buf.h"

typedef enum { VV_LOG_DEBUG, VV_LOG_INFO, VV_LOG_WARN, VV_LOG_ERROR } vv_log_level;

/* Receives one finished log line, newline included. */
typedef void (*vv_log_sink)(void *ctx, const char *line, size_t len);

/* A logger: a name for the prefix, a minimum level and a sink. No global state. */
typedef struct vv_log {
    const char *name;
    vv_log_level min_level;
    vv_log_sink sink;
    void *sink_ctx;
} vv_log;

/* Formats "<name> <level>: <message>\n" and hands it to the sink (NULL logger: no-op). */
void vv_logf(const vv_log *log, vv_log_level level, const char *fmt, ...) VV_PRINTF(3, 4);
/* va_list form of vv_logf. */
void vv_vlogf(const vv_log *log, vv_log_level level, const char *fmt, va_list ap) VV_PRINTF(3, 0);
/* Parses "debug" | "info" | "warn" | "error" (e.g. from an environment variable); else `fallback`. */
vv_log_level vv_log_level_parse(const char *s, vv_log_level fallback);

#endif
