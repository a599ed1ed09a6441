/* Unit tests for vv_proto (envelope, call order, dispatch) and vv_spec (VmSpec rules). */
#include <stdlib.h>

#include "../vv_proto.h"
#include "../vv_spec.h"
#include "vv_test.h"

void test_proto(vv_test_state *ts);
void test_spec(vv_test_state *ts);

typedef struct { vv_buf out; int later_id; } fake_app;

static void collect(void *ctx, const char *line, size_t len) { vv_buf_add(&((fake_app *)ctx)->out, line, len); }

static vv_disposition m_hello(void *app, const vv_request *req, vj_writer *r, vv_error *err) {
    (void)app; (void)req; (void)err;
    vj_obj_begin(r); vj_key(r, "protocol"); vj_int(r, 1); vj_obj_end(r);
    return VV_REPLY_NOW;
}
static vv_disposition m_fail(void *app, const vv_request *req, vj_writer *r, vv_error *err) {
    (void)app; (void)req; (void)r;
    vv_error_set(err, VV_NOT_FOUND, "kernel: /x does not exist");
    vv_error_cause_int(err, "errno", 2);
    return VV_REPLY_NOW;
}
static vv_disposition m_later(void *app, const vv_request *req, vj_writer *r, vv_error *err) {
    (void)r; (void)err;
    ((fake_app *)app)->later_id = (int)req->id;
    return VV_REPLY_LATER;
}
static vv_disposition m_empty(void *app, const vv_request *req, vj_writer *r, vv_error *err) {
    (void)app; (void)req; (void)r; (void)err;
    return VV_REPLY_NOW;
}

static const char *send(vv_proto *p, fake_app *a, const char *line) {
    vv_buf_clear(&a->out);
    vv_proto_handle_line(p, line, strlen(line));
    return vv_buf_str(&a->out);
}

void test_proto(vv_test_state *ts) {
    static const vv_method methods[] = {
        {"hello", m_hello}, {"fail", m_fail}, {"later", m_later}, {"empty", m_empty}};
    fake_app a = {0};
    vv_proto p = {methods, 4, &a, collect, &a, NULL, 0};

    CHECK_CONTAINS(ts, send(&p, &a, "{\"id\":1,\"method\":\"fail\"}"),
                   "{\"id\":1,\"error\":{\"code\":\"invalidState\"");
    CHECK_STR(ts, send(&p, &a, "{not json"),
              "{\"id\":null,\"error\":{\"code\":\"invalidArgument\",\"message\":\"request is not valid JSON: expected member name at byte 1\"}}\n");
    CHECK_CONTAINS(ts, send(&p, &a, "[1]"), "{\"id\":null,\"error\":{\"code\":\"invalidArgument\"");
    CHECK_CONTAINS(ts, send(&p, &a, "{\"id\":-1,\"method\":\"hello\"}"), "{\"id\":null,\"error\":{\"code\":\"invalidArgument\"");
    CHECK_CONTAINS(ts, send(&p, &a, "{\"id\":\"1\",\"method\":\"hello\"}"), "{\"id\":null,");
    CHECK_CONTAINS(ts, send(&p, &a, "{\"id\":2}"), "{\"id\":2,\"error\":{\"code\":\"invalidArgument\"");
    CHECK_CONTAINS(ts, send(&p, &a, "{\"id\":3,\"method\":7}"), "{\"id\":3,\"error\":{\"code\":\"invalidArgument\"");
    CHECK_CONTAINS(ts, send(&p, &a, "{\"id\":4,\"method\":\"hello\",\"params\":[]}"),
                   "{\"id\":4,\"error\":{\"code\":\"invalidArgument\"");
    CHECK_CONTAINS(ts, send(&p, &a, "{\"id\":5,\"method\":\"hello\",\"params\":{}}"),
                   "{\"id\":5,\"error\":{\"code\":\"invalidArgument\",\"message\":\"hello: params.protocol");
    CHECK_CONTAINS(ts, send(&p, &a, "{\"id\":6,\"method\":\"hello\",\"params\":{\"protocol\":2}}"),
                   "\"code\":\"unsupported\",\"message\":\"hello: protocol 2 is not supported; this helper speaks 1\",\"cause\":{\"supported\":[1]}}}");
    CHECK(ts, !p.hello_ok);
    CHECK_STR(ts, send(&p, &a, "{\"id\":7,\"method\":\"hello\",\"params\":{\"protocol\":1,\"x\":{}},\"extra\":1}"),
              "{\"id\":7,\"result\":{\"protocol\":1}}\n");
    CHECK(ts, p.hello_ok);
    CHECK_STR(ts, send(&p, &a, "{\"id\":8,\"method\":\"fail\"}"),
              "{\"id\":8,\"error\":{\"code\":\"notFound\",\"message\":\"kernel: /x does not exist\",\"cause\":{\"errno\":2}}}\n");
    CHECK_CONTAINS(ts, send(&p, &a, "{\"id\":9,\"method\":\"nope\"}"), "{\"id\":9,\"error\":{\"code\":\"unsupported\"");
    CHECK_STR(ts, send(&p, &a, "{\"id\":10,\"method\":\"later\"}"), "");
    CHECK(ts, a.later_id == 10);
    CHECK_STR(ts, send(&p, &a, "{\"id\":11,\"method\":\"empty\"}"), "{\"id\":11,\"result\":{}}\n");
    vv_buf_clear(&a.out);
    vv_proto_reply_result(&p, 10, "{\"state\":\"running\"}");
    vv_proto_event(&p, "state", "\"state\":\"stopped\"");
    vv_proto_handle_oversized(&p);
    CHECK_STR(ts, vv_buf_str(&a.out),
              "{\"id\":10,\"result\":{\"state\":\"running\"}}\n{\"event\":\"state\",\"state\":\"stopped\"}\n"
              "{\"id\":null,\"error\":{\"code\":\"invalidArgument\",\"message\":\"request line is longer than the protocol's 1 MiB (1048576 bytes) cap\"}}\n");
    vv_buf_free(&a.out);
}

/* A fake file system: "/f*" are files, "/d*" directories, "/run" a directory, else missing. */
static int fake_abs(void *ctx, const char *p) { (void)ctx; return p[0] == '/'; }
static vv_path_kind fake_kind(void *ctx, const char *p, int *err) {
    (void)ctx;
    if (strcmp(p, "/") == 0 || strncmp(p, "/d", 2) == 0 || strcmp(p, "/run") == 0) return VV_PATH_DIR;
    if (strncmp(p, "/f", 2) == 0) return VV_PATH_FILE;
    *err = 2;
    return VV_PATH_MISSING;
}

static const char *const archs[] = {"x86_64", "arm64", NULL};
static const char *const shares[] = {"9p", NULL};
static const char *const chans[] = {"virtio-serial", NULL};

static const char *spec_err(vv_test_state *ts, const char *json, vv_error *err) {
    static const vv_limits lim = {"x86_64", archs, shares, chans, 2, 4096};
    const vv_platform pf = {NULL, fake_abs, fake_kind, NULL};
    vj_doc d;
    vv_spec s;
    vv_error_reset(err);
    CHECK(ts, vj_parse(&d, json, strlen(json)) == 0);
    int r = vv_spec_parse(d.root, &lim, &pf, &s, err);
    if (r == 0) {
        CHECK(ts, s.cpus >= 1);
        vv_spec_free(&s);
    }
    vj_doc_free(&d);
    return r == 0 ? "ok" : err->message;
}

#define BASE "\"name\":\"vm-1\",\"kernel\":\"/fk\",\"initrd\":\"/fi\",\"cpus\":2,\"memoryMiB\":512,\"channelPath\":\"/run/ssh.sock\",\"consoleLog\":\"/run/console.log\""

void test_spec(vv_test_state *ts) {
    vv_error e = {0};
    CHECK_STR(ts, spec_err(ts, "{" BASE "}", &e), "ok");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"shares\":[{\"tag\":\"workspace\",\"hostPath\":\"/dw\",\"readOnly\":true}],\"arch\":\"arm64\",\"cmdline\":\"quiet\"}", &e), "ok");
    CHECK_STR(ts, spec_err(ts, "{\"name\":\"a b\"}", &e), "name \"a b\" must match [A-Za-z0-9._-]{1,64}");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"arch\":\"riscv64\"}", &e),
              "arch \"riscv64\" cannot be booted by this helper here (can: x86_64, arm64)");
    CHECK(ts, e.code == VV_UNSUPPORTED);
    CHECK_STR(ts, spec_err(ts, "{\"name\":\"v\",\"kernel\":\"/x/vmlinux\"}", &e), "kernel: /x/vmlinux does not exist");
    CHECK(ts, e.code == VV_NOT_FOUND);
    CHECK_CONTAINS(ts, vv_buf_str(&e.cause), "\"path\":\"/x/vmlinux\",\"errno\":2");
    CHECK_STR(ts, spec_err(ts, "{\"name\":\"v\",\"kernel\":\"rel/vmlinux\"}", &e), "kernel: \"rel/vmlinux\" is not an absolute path");
    CHECK(ts, e.code == VV_INVALID_ARGUMENT);
    CHECK_STR(ts, spec_err(ts, "{\"name\":\"v\",\"kernel\":\"/dk\"}", &e), "kernel: /dk is not a regular file");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"cpus\":3}", &e), "cpus must be an integer in 1..2");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"memoryMiB\":64}", &e), "memoryMiB must be an integer in 128..4096");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"shares\":[{\"tag\":\"Work\",\"hostPath\":\"/d\"}]}", &e),
              "shares[0].tag \"Work\" must match [a-z][a-z0-9_-]{0,30}");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"shares\":[{\"tag\":\"w\",\"hostPath\":\"/d\"},{\"tag\":\"w\",\"hostPath\":\"/d\"}]}", &e),
              "shares[1].tag \"w\" is used by shares[0] already");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"shares\":[{\"tag\":\"w\",\"hostPath\":\"/nope\"}]}", &e),
              "shares[0].hostPath: /nope does not exist");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"shares\":[{\"tag\":\"w\",\"hostPath\":\"/d\",\"readOnly\":1}]}", &e),
              "shares[0].readOnly must be a boolean");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"shareKind\":\"virtiofs\"}", &e),
              "shareKind \"virtiofs\" is not offered by this helper (offered: 9p)");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"channelPath\":\"/fexisting\"}", &e), "channelPath: /fexisting already exists");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"channelPath\":\"/nodir/ssh.sock\"}", &e),
              "channelPath: the directory /nodir does not exist");
    CHECK(ts, e.code == VV_NOT_FOUND);
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"guestPort\":0}", &e), "guestPort must be an integer in 1..65535");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"cmdline\":\"a\\nb\"}", &e), "cmdline must not contain control characters");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"consoleLog\":\"/dlog\"}", &e), "consoleLog: /dlog exists and is not a regular file");
    CHECK_STR(ts, spec_err(ts, "{" BASE ",\"kernel\":\"/f\\u0000x\"}", &e), "kernel must be a string without NUL bytes (got string)");
    vv_error_free(&e);
}
