/*
 * vv_proto: the helper side of the Vivarium helper protocol (PROTOCOL.md): classifies each
 * line, enforces "hello first", dispatches to a method table, and writes replies and events.
 * Platform I/O stays outside: lines come in through vv_proto_handle_line, and every outgoing
 * line leaves through the `emit` callback. Single-threaded: calls MUST NOT overlap.
 */
#ifndef VV_PROTO_H
#define VV_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "vv_error.h"
#include "vv_json.h"
#include "vv_log.h"

/* The protocol version this code speaks. */
#define VV_PROTOCOL_VERSION 1

/* Receives one complete outgoing line, "\n" included. */
typedef void (*vv_emit_fn)(void *ctx, const char *line, size_t len);

/* A request after envelope validation. `params` is NULL when omitted, else an object. */
typedef struct vv_request {
    uint64_t id;
    const char *method;
    const vj_value *params;
} vv_request;

/* What a method did with its request. */
typedef enum {
    VV_REPLY_NOW,   /* reply now: with `err` when err->code != VV_OK, else with `result` */
    VV_REPLY_LATER, /* the method keeps req->id and replies later with vv_proto_reply_* */
} vv_disposition;

/* A method. It writes its result as one JSON object into `result` (left empty: `{}`), or
 * sets `err`. `params` and the request live only during the call. */
typedef vv_disposition (*vv_method_fn)(void *app, const vv_request *req, vj_writer *result,
                                       vv_error *err);

typedef struct vv_method {
    const char *name;
    vv_method_fn fn;
} vv_method;

/* One protocol endpoint. Set the members, then call vv_proto_handle_line per input line. */
typedef struct vv_proto {
    const vv_method *methods; /* MUST include "hello"; its params.protocol is checked here */
    size_t n_methods;
    void *app;
    vv_emit_fn emit;
    void *emit_ctx;
    const vv_log *log;
    int hello_ok; /* set after the first successful hello */
} vv_proto;

/* Handles one input line (without its newline). Never fails: bad input gets an error reply. */
void vv_proto_handle_line(vv_proto *p, const char *line, size_t len);
/* Handles a line that exceeded the cap (vv_lines reports it): invalidArgument, id null. */
void vv_proto_handle_oversized(vv_proto *p);
/* Sends a deferred success reply; `result_json` is one serialized object ("{}" if NULL). */
void vv_proto_reply_result(vv_proto *p, uint64_t id, const char *result_json);
/* Sends an error reply; has_id == 0 writes "id": null. */
void vv_proto_reply_error(vv_proto *p, int has_id, uint64_t id, const vv_error *err);
/* Sends an event line: {"event": name, <members>} where `members_json` is a
 * comma-separated member list such as `"state":"running"` (or NULL for none). */
void vv_proto_event(vv_proto *p, const char *name, const char *members_json);

#endif
