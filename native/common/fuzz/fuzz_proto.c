/* libFuzzer target: arbitrary bytes through line framing and dispatch (hello, a VmSpec
 * validator with disks and data channels, deferred replies). Every emitted line must be one
 * valid JSON object. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../vv_lines.h"
#include "../vv_proto.h"
#include "../vv_spec.h"

typedef struct { vv_proto proto; int deferred; uint64_t deferred_id; } app;

static void check_line(void *ctx, const char *line, size_t len) {
    (void)ctx;
    vj_doc d;
    if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1)) abort();
    if (vj_parse(&d, line, len - 1) != 0 || d.root->type != VJ_OBJECT) abort();
    vj_doc_free(&d);
}

static vv_disposition m_hello(void *a, const vv_request *req, vj_writer *r, vv_error *err) {
    (void)a; (void)req; (void)err;
    vj_obj_begin(r); vj_key(r, "protocol"); vj_int(r, 1); vj_obj_end(r);
    return VV_REPLY_NOW;
}

static int f_abs(void *ctx, const char *p) { (void)ctx; return p[0] == '/'; }
static vv_path_kind f_kind(void *ctx, const char *p, int *err) {
    (void)ctx;
    *err = 0;
    if (p[1] == 'd' || p[1] == '\0') return VV_PATH_DIR;
    if (p[1] == 'f') return VV_PATH_FILE;
    *err = 2;
    return VV_PATH_MISSING;
}

static vv_disposition m_start(void *ap, const vv_request *req, vj_writer *r, vv_error *err) {
    static const char *const archs[] = {"x86_64", NULL}, *const kinds[] = {"9p", NULL},
                             *const chans[] = {"virtio-serial", NULL};
    const vv_limits lim = {"x86_64", archs, kinds, chans, 2, 2048};
    const vv_platform pf = {NULL, f_abs, f_kind, NULL};
    app *a = ap;
    vv_spec s;
    static const char *const formats[] = {"raw", NULL};
    const vv_device_limits dev = {formats, 1, 2};
    if (vv_spec_parse_with(req->params, &lim, &dev, &pf, &s, err) != 0) return VV_REPLY_NOW;
    vj_obj_begin(r); vj_key(r, "name"); vj_str(r, s.name);
    vj_key(r, "disks"); vj_arr_begin(r);
    for (size_t i = 0; i < s.n_disks; i++) { vj_str(r, s.disks[i].id); vj_str(r, s.disks[i].host_path); }
    vj_arr_end(r);
    vj_key(r, "dataChannels"); vj_arr_begin(r);
    for (size_t i = 0; i < s.n_data_channels; i++) { vj_str(r, s.data_channels[i].name); vj_str(r, s.data_channels[i].path); }
    vj_arr_end(r);
    vj_obj_end(r);
    vv_spec_free(&s);
    if (!a->deferred) { a->deferred = 1; a->deferred_id = req->id; return VV_REPLY_LATER; }
    return VV_REPLY_NOW;
}

static void on_line(void *ctx, const char *line, size_t len) {
    app *a = ctx;
    if (!line) vv_proto_handle_oversized(&a->proto);
    else vv_proto_handle_line(&a->proto, line, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const vv_method methods[] = {{"hello", m_hello}, {"start", m_start}};
    app a = {{methods, 2, NULL, check_line, NULL, NULL, 0}, 0, 0};
    a.proto.app = &a;
    /* Let most inputs pass hello so dispatch is explored past the call-order gate. */
    if (size > 0 && data[0] & 1) a.proto.hello_ok = 1;
    vv_lines lines = {0};
    lines.cap = 4096;
    size_t half = size / 2;
    vv_lines_feed(&lines, (const char *)data, half, on_line, &a);
    vv_lines_feed(&lines, (const char *)data + half, size - half, on_line, &a);
    if (a.deferred) {
        vv_proto_reply_result(&a.proto, a.deferred_id, "{\"state\":\"running\"}");
        vv_proto_event(&a.proto, "state", "\"state\":\"running\"");
    }
    vv_lines_free(&lines);
    return 0;
}
