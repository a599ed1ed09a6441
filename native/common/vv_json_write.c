/* vv_json_write: a streaming JSON writer that always produces valid UTF-8 JSON. */
#include "vv_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void vj_writer_init(vj_writer *w, vv_buf *out) {
    memset(w, 0, sizeof *w);
    w->out = out;
}

/* Emits the comma a value needs when it is not the first in its container. */
static void before_value(vj_writer *w) {
    if (w->after_key) { w->after_key = 0; return; }
    /* Depth 0 counts too: a writer may emit a bare member list ("a":1,"b":2) for events. */
    if (w->need_comma[w->depth]) vv_buf_addc(w->out, ',');
    w->need_comma[w->depth] = 1;
}

static void open_(vj_writer *w, char c) {
    before_value(w);
    vv_buf_addc(w->out, c);
    if (w->depth >= VJ_WRITER_MAX_DEPTH) { w->overflow++; return; }
    w->depth++;
    w->need_comma[w->depth] = 0;
}

static void close_(vj_writer *w, char c) {
    vv_buf_addc(w->out, c);
    if (w->overflow > 0) w->overflow--;
    else if (w->depth > 0) w->depth--;
}

void vj_obj_begin(vj_writer *w) { open_(w, '{'); }
void vj_obj_end(vj_writer *w) { close_(w, '}'); }
void vj_arr_begin(vj_writer *w) { open_(w, '['); }
void vj_arr_end(vj_writer *w) { close_(w, ']'); }

static void write_string(vv_buf *o, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    vv_buf_addc(o, '"');
    while (p < end) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            vv_buf_add(o, e, 2);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            if (c == '\n') vv_buf_add(o, "\\n", 2);
            else if (c == '\t') vv_buf_add(o, "\\t", 2);
            else if (c == '\r') vv_buf_add(o, "\\r", 2);
            else vv_buf_add(o, e, 6);
            p++;
        } else if (c < 0x80) {
            vv_buf_addc(o, (char)c);
            p++;
        } else {
            /* Validate the sequence; invalid bytes become U+FFFD one at a time. */
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            int ok = c >= 0xC2 && c <= 0xF4 && (size_t)(end - p) >= n;
            unsigned cp = c & (0xFF >> (n + 1));
            for (size_t i = 1; ok && i < n; i++) {
                if ((p[i] & 0xC0) != 0x80) ok = 0;
                cp = (cp << 6) | (p[i] & 0x3F);
            }
            static const unsigned minimum[5] = {0, 0, 0x80, 0x800, 0x10000};
            if (ok && (cp < minimum[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = 0;
            if (ok) { vv_buf_add(o, p, n); p += n; }
            else { vv_buf_add(o, "\xEF\xBF\xBD", 3); p++; }
        }
    }
    vv_buf_addc(o, '"');
}

void vj_key(vj_writer *w, const char *key) {
    before_value(w);
    write_string(w->out, key, strlen(key));
    vv_buf_addc(w->out, ':');
    w->after_key = 1;
}

void vj_strn(vj_writer *w, const char *s, size_t len) {
    before_value(w);
    write_string(w->out, s, len);
}

void vj_str(vj_writer *w, const char *s) {
    if (!s) { vj_null(w); return; }
    vj_strn(w, s, strlen(s));
}

void vj_int(vj_writer *w, int64_t v) {
    before_value(w);
    vv_buf_printf(w->out, "%" PRId64, v);
}

void vj_double(vj_writer *w, double v) {
    before_value(w);
    if (!isfinite(v)) { vv_buf_adds(w->out, "null"); return; }
    if (floor(v) == v && fabs(v) < 9007199254740992.0) vv_buf_printf(w->out, "%.0f", v);
    else vv_buf_printf(w->out, "%.17g", v);
}

void vj_bool(vj_writer *w, int v) {
    before_value(w);
    vv_buf_adds(w->out, v ? "true" : "false");
}

void vj_null(vj_writer *w) {
    before_value(w);
    vv_buf_adds(w->out, "null");
}

void vj_raw(vj_writer *w, const char *json, size_t len) {
    before_value(w);
    vv_buf_add(w->out, json, len);
}

void vj_value_write(vj_writer *w, const vj_value *v) {
    switch (v->type) {
    case VJ_NULL: vj_null(w); break;
    case VJ_BOOL: vj_bool(w, v->u.boolean); break;
    case VJ_NUMBER: vj_double(w, v->u.number); break;
    case VJ_STRING: vj_strn(w, v->u.string.s, v->u.string.len); break;
    case VJ_ARRAY:
    case VJ_OBJECT:
        if (v->type == VJ_ARRAY) vj_arr_begin(w); else vj_obj_begin(w);
        for (const vj_value *c = v->u.list.first; c; c = c->next) {
            if (v->type == VJ_OBJECT) {
                before_value(w);
                write_string(w->out, c->key, c->key_len);
                vv_buf_addc(w->out, ':');
                w->after_key = 1;
            }
            vj_value_write(w, c);
        }
        if (v->type == VJ_ARRAY) vj_arr_end(w); else vj_obj_end(w);
        break;
    }
}
