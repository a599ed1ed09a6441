/* vv_error: building and writing protocol error objects. */
#include "vv_error.h"

#include <stdio.h>
#include <string.h>

const char *vv_code_name(vv_code code) {
    switch (code) {
    case VV_OK: return "ok";
    case VV_INVALID_ARGUMENT: return "invalidArgument";
    case VV_UNSUPPORTED: return "unsupported";
    case VV_NOT_FOUND: return "notFound";
    case VV_INVALID_STATE: return "invalidState";
    case VV_TIMEOUT: return "timeout";
    case VV_HYPERVISOR_UNAVAILABLE: return "hypervisorUnavailable";
    case VV_INTERNAL: return "internal";
    }
    return "internal";
}

void vv_error_set(vv_error *e, vv_code code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    e->code = code;
}

static void cause_key(vv_error *e, const char *key) {
    vj_writer w;
    if (e->cause.len) vv_buf_addc(&e->cause, ',');
    vj_writer_init(&w, &e->cause);
    vj_key(&w, key);
}

void vv_error_cause_strn(vv_error *e, const char *key, const char *value, size_t len) {
    vj_writer w;
    cause_key(e, key);
    vj_writer_init(&w, &e->cause);
    vj_strn(&w, value, len);
}

void vv_error_cause_str(vv_error *e, const char *key, const char *value) {
    vv_error_cause_strn(e, key, value, strlen(value));
}

void vv_error_cause_int(vv_error *e, const char *key, long long value) {
    cause_key(e, key);
    vv_buf_printf(&e->cause, "%lld", value);
}

void vv_error_cause_raw(vv_error *e, const char *key, const char *json) {
    cause_key(e, key);
    vv_buf_adds(&e->cause, json);
}

void vv_error_write(const vv_error *e, vj_writer *w) {
    vj_obj_begin(w);
    vj_key(w, "code");
    vj_str(w, vv_code_name(e->code == VV_OK ? VV_INTERNAL : e->code));
    vj_key(w, "message");
    vj_str(w, e->message[0] ? e->message : "unspecified error");
    if (e->cause.len) {
        vj_key(w, "cause");
        vj_raw(w, "{", 1);
        vv_buf_add(w->out, e->cause.data, e->cause.len);
        vv_buf_addc(w->out, '}');
    }
    vj_obj_end(w);
}

void vv_error_reset(vv_error *e) {
    e->code = VV_OK;
    e->message[0] = '\0';
    vv_buf_clear(&e->cause);
}

void vv_error_free(vv_error *e) { vv_buf_free(&e->cause); }
