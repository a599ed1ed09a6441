/* vv_error: the protocol's error object {code, message, cause} with its closed code set. */
#ifndef VV_ERROR_H
#define VV_ERROR_H

#include <stdarg.h>

#include "vv_buf.h"
#include "vv_json.h"

/* The closed set of PROTOCOL.md §3.1; VV_OK means "no error". */
typedef enum {
    VV_OK = 0,
    VV_INVALID_ARGUMENT,
    VV_UNSUPPORTED,
    VV_NOT_FOUND,
    VV_INVALID_STATE,
    VV_TIMEOUT,
    VV_HYPERVISOR_UNAVAILABLE,
    VV_INTERNAL,
} vv_code;

/* An error being built. `cause` holds the members of the cause object as JSON text
 * (e.g. `"errno":2,"path":"/x"`), empty when there is no cause. */
typedef struct vv_error {
    vv_code code;
    char message[512];
    vv_buf cause;
} vv_error;

/* The wire name of a code ("invalidArgument"...). */
const char *vv_code_name(vv_code code);
/* Sets code and message (printf-style); keeps any cause members already added. */
void vv_error_set(vv_error *e, vv_code code, const char *fmt, ...) VV_PRINTF(3, 4);
/* Adds a string member to the cause. */
void vv_error_cause_str(vv_error *e, const char *key, const char *value);
/* Adds a string member from bytes that may be any encoding (written as valid UTF-8). */
void vv_error_cause_strn(vv_error *e, const char *key, const char *value, size_t len);
/* Adds an integer member to the cause. */
void vv_error_cause_int(vv_error *e, const char *key, long long value);
/* Adds a member whose value is already-serialized JSON. */
void vv_error_cause_raw(vv_error *e, const char *key, const char *json);
/* Writes {"code":..,"message":..[,"cause":{..}]} as one value. */
void vv_error_write(const vv_error *e, vj_writer *w);
/* Clears code, message and cause (keeps memory). */
void vv_error_reset(vv_error *e);
/* Frees the cause buffer. */
void vv_error_free(vv_error *e);

#endif
