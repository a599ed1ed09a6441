/* vv_log: leveled logging through a caller-provided sink. */
#include "vv_log.h"

#include <string.h>

#include "vv_buf.h"

static const char *level_name(vv_log_level l) {
    switch (l) {
    case VV_LOG_DEBUG: return "debug";
    case VV_LOG_INFO: return "info";
    case VV_LOG_WARN: return "warn";
    case VV_LOG_ERROR: return "error";
    }
    return "?";
}

void vv_vlogf(const vv_log *log, vv_log_level level, const char *fmt, va_list ap) {
    if (!log || !log->sink || level < log->min_level) return;
    vv_buf b = {0};
    vv_buf_printf(&b, "%s %s: ", log->name ? log->name : "helper", level_name(level));
    vv_buf_vprintf(&b, fmt, ap);
    vv_buf_addc(&b, '\n');
    if (!b.oom) log->sink(log->sink_ctx, b.data, b.len);
    vv_buf_free(&b);
}

void vv_logf(const vv_log *log, vv_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vv_vlogf(log, level, fmt, ap);
    va_end(ap);
}

vv_log_level vv_log_level_parse(const char *s, vv_log_level fallback) {
    if (!s) return fallback;
    if (strcmp(s, "debug") == 0) return VV_LOG_DEBUG;
    if (strcmp(s, "info") == 0) return VV_LOG_INFO;
    if (strcmp(s, "warn") == 0) return VV_LOG_WARN;
    if (strcmp(s, "error") == 0) return VV_LOG_ERROR;
    return fallback;
}
