/* vv_proto: envelope validation, call order and dispatch for the helper protocol. */
#include "vv_proto.h"

#include <string.h>

static void emit_buf(vv_proto *p, vv_buf *b) {
    vv_buf_addc(b, '\n');
    if (b->oom) {
        /* Out of memory while building a reply: still answer, with a fixed text. */
        static const char fallback[] =
            "{\"id\":null,\"error\":{\"code\":\"internal\",\"message\":\"helper out of memory\"}}\n";
        p->emit(p->emit_ctx, fallback, sizeof fallback - 1);
        return;
    }
    p->emit(p->emit_ctx, b->data, b->len);
}

void vv_proto_reply_error(vv_proto *p, int has_id, uint64_t id, const vv_error *err) {
    vv_buf b = {0};
    vj_writer w;
    vj_writer_init(&w, &b);
    vj_obj_begin(&w);
    vj_key(&w, "id");
    if (has_id) vj_int(&w, (int64_t)id); else vj_null(&w);
    vj_key(&w, "error");
    vv_error_write(err, &w);
    vj_obj_end(&w);
    vv_logf(p->log, VV_LOG_DEBUG, "reply error %s: %s", vv_code_name(err->code), err->message);
    emit_buf(p, &b);
    vv_buf_free(&b);
}

void vv_proto_reply_result(vv_proto *p, uint64_t id, const char *result_json) {
    vv_buf b = {0};
    vv_buf_printf(&b, "{\"id\":%llu,\"result\":%s}", (unsigned long long)id,
                  result_json && *result_json ? result_json : "{}");
    emit_buf(p, &b);
    vv_buf_free(&b);
}

void vv_proto_event(vv_proto *p, const char *name, const char *members_json) {
    vv_buf b = {0};
    vj_writer w;
    vj_writer_init(&w, &b);
    vv_buf_adds(&b, "{\"event\":");
    vj_str(&w, name);
    if (members_json && *members_json) {
        vv_buf_addc(&b, ',');
        vv_buf_adds(&b, members_json);
    }
    vv_buf_addc(&b, '}');
    emit_buf(p, &b);
    vv_buf_free(&b);
}

static void error_reply(vv_proto *p, int has_id, uint64_t id, vv_code code, const char *msg) {
    vv_error e = {0};
    vv_error_set(&e, code, "%s", msg);
    vv_proto_reply_error(p, has_id, id, &e);
    vv_error_free(&e);
}

void vv_proto_handle_oversized(vv_proto *p) {
    vv_logf(p->log, VV_LOG_WARN, "discarded an input line longer than the 1 MiB cap");
    error_reply(p, 0, 0, VV_INVALID_ARGUMENT,
                "request line is longer than the protocol's 1 MiB (1048576 bytes) cap");
}

/* hello's own rule (PROTOCOL.md §5.1): params.protocol must be a version we speak. */
static int check_hello(const vv_request *req, vv_error *err) {
    const vj_value *proto = vj_get(req->params, "protocol");
    uint64_t v;
    if (!vj_as_uint(proto, &v)) {
        vv_error_set(err, VV_INVALID_ARGUMENT,
                     "hello: params.protocol must be a non-negative integer (got %s)",
                     vj_type_name(proto));
        return -1;
    }
    if (v != VV_PROTOCOL_VERSION) {
        vv_error_set(err, VV_UNSUPPORTED, "hello: protocol %llu is not supported; this helper speaks %d",
                     (unsigned long long)v, VV_PROTOCOL_VERSION);
        vv_error_cause_raw(err, "supported", "[1]");
        return -1;
    }
    return 0;
}

static void dispatch(vv_proto *p, const vv_request *req) {
    vv_error err = {0};
    const vv_method *m = NULL;
    for (size_t i = 0; i < p->n_methods; i++)
        if (strcmp(p->methods[i].name, req->method) == 0) m = &p->methods[i];
    int is_hello = strcmp(req->method, "hello") == 0;

    if (!is_hello && !p->hello_ok) {
        vv_error_set(&err, VV_INVALID_STATE, "%.64s: hello must be the first request",
                     req->method);
    } else if (!m) {
        vv_error_set(&err, VV_UNSUPPORTED, "unknown method \"%.64s\"", req->method);
    } else if (!is_hello || check_hello(req, &err) == 0) {
        vv_buf out = {0};
        vj_writer w;
        vj_writer_init(&w, &out);
        vv_disposition d = m->fn(p->app, req, &w, &err);
        if (d == VV_REPLY_NOW && err.code == VV_OK) {
            if (is_hello) p->hello_ok = 1;
            vv_proto_reply_result(p, req->id, out.data);
        }
        vv_buf_free(&out);
        if (d == VV_REPLY_LATER) { vv_error_free(&err); return; }
    }
    if (err.code != VV_OK) vv_proto_reply_error(p, 1, req->id, &err);
    vv_error_free(&err);
}

void vv_proto_handle_line(vv_proto *p, const char *line, size_t len) {
    vj_doc doc;
    if (vj_parse(&doc, line, len) != 0) {
        vv_error e = {0};
        vv_error_set(&e, VV_INVALID_ARGUMENT, "request is not valid JSON: %s", doc.error);
        vv_proto_reply_error(p, 0, 0, &e);
        vv_error_free(&e);
        vj_doc_free(&doc);
        return;
    }
    const vj_value *root = doc.root;
    vv_request req = {0};
    const vj_value *id = vj_get(root, "id"), *method = vj_get(root, "method"),
                   *params = vj_get(root, "params");
    if (root->type != VJ_OBJECT) {
        error_reply(p, 0, 0, VV_INVALID_ARGUMENT, "request must be a JSON object");
    } else if (!vj_as_uint(id, &req.id)) {
        error_reply(p, 0, 0, VV_INVALID_ARGUMENT,
                    "request id must be an integer in [0, 2^53-1]");
    } else if (!method || method->type != VJ_STRING || !vj_is_cstring(method) ||
               method->u.string.len == 0) {
        error_reply(p, 1, req.id, VV_INVALID_ARGUMENT, "request method must be a non-empty string");
    } else if (params && params->type != VJ_OBJECT) {
        error_reply(p, 1, req.id, VV_INVALID_ARGUMENT, "request params must be an object when present");
    } else {
        req.method = method->u.string.s;
        req.params = params;
        vv_logf(p->log, VV_LOG_DEBUG, "request %llu %.64s", (unsigned long long)req.id, req.method);
        dispatch(p, &req);
    }
    vj_doc_free(&doc);
}
