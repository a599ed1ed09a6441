/*
 * vv_json: a small JSON (RFC 8259) parser into an arena-allocated tree, and a streaming writer.
 * Portable C11, no global state. Strings are UTF-8 and validated; the writer never emits
 * invalid UTF-8 (bad bytes become U+FFFD) so any native text can be sent safely.
 */
#ifndef VV_JSON_H
#define VV_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "vv_buf.h"

/* Largest integer the protocol accepts for ids, sizes and counts (2^53 - 1). */
#define VJ_MAX_SAFE_INT 9007199254740991ULL
/* Deepest nesting the parser accepts; deeper input is rejected, never recursed into. */
#define VJ_MAX_DEPTH 64
/* Nesting the writer tracks (a parsed value wrapped in a few envelopes fits). */
#define VJ_WRITER_MAX_DEPTH 128

typedef enum { VJ_NULL, VJ_BOOL, VJ_NUMBER, VJ_STRING, VJ_ARRAY, VJ_OBJECT } vj_type;

typedef struct vj_value vj_value;

/* One node. Array items and object members are a singly linked list through `next`. */
struct vj_value {
    vj_type type;
    vj_value *next;     /* next sibling in the parent array/object */
    const char *key;    /* member name when the parent is an object (NUL-terminated) */
    size_t key_len;
    union {
        int boolean;
        double number;
        struct { const char *s; size_t len; } string; /* NUL-terminated; may hold \0 inside */
        struct { vj_value *first; size_t count; } list; /* array or object */
    } u;
};

typedef struct vj_arena_chunk vj_arena_chunk;

/* Owns every node and string of one parse; freed at once. */
typedef struct vj_doc {
    vj_value *root;
    vj_arena_chunk *chunks;
    char error[128]; /* why parsing failed, with the byte offset */
} vj_doc;

/* Parses exactly one JSON value (surrounded by optional whitespace). Returns 0, or -1 with
 * doc->error set. The doc MUST be released with vj_doc_free in both cases. */
int vj_parse(vj_doc *doc, const char *text, size_t len);
/* Releases everything a parse allocated. */
void vj_doc_free(vj_doc *doc);

/* The member named `key` of an object (the last one if repeated), or NULL (also when `obj` is not an object). */
const vj_value *vj_get(const vj_value *obj, const char *key);
/* True when v is a number holding an integer in [0, 2^53-1]; stores it in *out. */
int vj_as_uint(const vj_value *v, uint64_t *out);
/* True when v is a string without embedded NUL bytes (usable as a C string). */
int vj_is_cstring(const vj_value *v);
/* Human name of a node's type ("string", "object", ...) for error messages. */
const char *vj_type_name(const vj_value *v);

/* ---- writer ---- */

/* Appends JSON to a vv_buf; commas are inserted automatically. */
typedef struct vj_writer {
    vv_buf *out;
    int depth;
    int overflow; /* levels opened beyond VJ_WRITER_MAX_DEPTH (commas untracked there) */
    unsigned char need_comma[VJ_WRITER_MAX_DEPTH + 1];
    int after_key;
} vj_writer;

/* Starts writing into `out` (appending to what it already holds). */
void vj_writer_init(vj_writer *w, vv_buf *out);
void vj_obj_begin(vj_writer *w);
void vj_obj_end(vj_writer *w);
void vj_arr_begin(vj_writer *w);
void vj_arr_end(vj_writer *w);
/* Writes a member name; the next value written is its value. */
void vj_key(vj_writer *w, const char *key);
void vj_str(vj_writer *w, const char *s);
void vj_strn(vj_writer *w, const char *s, size_t len);
void vj_int(vj_writer *w, int64_t v);
void vj_double(vj_writer *w, double v);
void vj_bool(vj_writer *w, int v);
void vj_null(vj_writer *w);
/* Writes already-serialized JSON text as one value (the caller vouches for it). */
void vj_raw(vj_writer *w, const char *json, size_t len);
/* Re-serializes a parsed value. */
void vj_value_write(vj_writer *w, const vj_value *v);

#endif
