/* vv_json_parse: recursive-descent JSON parser with a depth limit and an arena. */
#include "vv_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vj_arena_chunk {
    vj_arena_chunk *next;
    size_t used, size;
    max_align_t align_[]; /* storage follows */
};

typedef struct {
    vj_doc *doc;
    const unsigned char *p, *start, *end;
    int failed;
} parser;

static void *arena_alloc(vj_doc *doc, size_t n) {
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    vj_arena_chunk *c = doc->chunks;
    if (!c || c->size - c->used < n) {
        size_t size = n > 65536 ? n : 65536;
        c = malloc(sizeof(vj_arena_chunk) + size);
        if (!c) return NULL;
        c->next = doc->chunks;
        c->used = 0;
        c->size = size;
        doc->chunks = c;
    }
    void *r = (char *)c->align_ + c->used;
    c->used += n;
    return r;
}

void vj_doc_free(vj_doc *doc) {
    vj_arena_chunk *c = doc->chunks;
    while (c) {
        vj_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    doc->chunks = NULL;
    doc->root = NULL;
}

static void fail(parser *ps, const char *what) {
    if (ps->failed) return;
    ps->failed = 1;
    snprintf(ps->doc->error, sizeof ps->doc->error, "%s at byte %zu", what,
             (size_t)(ps->p - ps->start));
}

static void skip_ws(parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static vj_value *new_value(parser *ps, vj_type t) {
    vj_value *v = arena_alloc(ps->doc, sizeof *v);
    if (!v) { fail(ps, "out of memory"); return NULL; }
    memset(v, 0, sizeof *v);
    v->type = t;
    return v;
}

static int hex4(parser *ps, unsigned *out) {
    if (ps->end - ps->p < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = ps->p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        v = v * 16 + d;
    }
    ps->p += 4;
    *out = v;
    return 0;
}

/* Length of a valid UTF-8 sequence starting at p (RFC 3629: no overlongs, no surrogates), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
    unsigned c = p[0];
    size_t n;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; }
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    unsigned cp = c & (0xFF >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string starting after the opening quote. The decoded text is never longer than
 * the source, so one allocation of the source span suffices. */
static int parse_string(parser *ps, const char **out, size_t *out_len) {
    const unsigned char *q = ps->p;
    while (q < ps->end && *q != '"') q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
    if (q >= ps->end) { fail(ps, "unterminated string"); return -1; }
    char *buf = arena_alloc(ps->doc, (size_t)(q - ps->p) + 1);
    if (!buf) { fail(ps, "out of memory"); return -1; }
    size_t n = 0;
    while (ps->p < ps->end) {
        unsigned char c = *ps->p;
        if (c == '"') {
            ps->p++;
            buf[n] = '\0';
            *out = buf;
            *out_len = n;
            return 0;
        }
        if (c < 0x20) { fail(ps, "control character in string"); return -1; }
        if (c != '\\') {
            size_t k = utf8_seq(ps->p, ps->end);
            if (!k) { fail(ps, "invalid UTF-8 in string"); return -1; }
            memcpy(buf + n, ps->p, k);
            n += k;
            ps->p += k;
            continue;
        }
        ps->p++;
        if (ps->p >= ps->end) break;
        c = *ps->p++;
        switch (c) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(ps, &cp) != 0) { fail(ps, "bad \\u escape"); return -1; }
            if (cp >= 0xDC00 && cp <= 0xDFFF) { fail(ps, "lone low surrogate"); return -1; }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    fail(ps, "lone high surrogate");
                    return -1;
                }
                ps->p += 2;
                if (hex4(ps, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    fail(ps, "bad surrogate pair");
                    return -1;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            /* \uXXXX is 6 source bytes and decodes to at most 3; a pair is 12 -> 4. */
            n += put_utf8(buf + n, cp);
            break;
        }
        default: ps->p--; fail(ps, "bad escape"); return -1;
        }
    }
    fail(ps, "unterminated string");
    return -1;
}

static int digits(parser *ps) {
    const unsigned char *s = ps->p;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    return ps->p > s;
}

static vj_value *parse_number(parser *ps) {
    const unsigned char *s = ps->p;
    if (ps->p < ps->end && *ps->p == '-') ps->p++;
    if (ps->p < ps->end && *ps->p == '0') ps->p++;
    else if (!digits(ps)) { fail(ps, "bad number"); return NULL; }
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (!digits(ps)) { fail(ps, "bad number fraction"); return NULL; }
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (!digits(ps)) { fail(ps, "bad number exponent"); return NULL; }
    }
    size_t n = (size_t)(ps->p - s);
    char tmp[64];
    char *txt = n < sizeof tmp ? tmp : arena_alloc(ps->doc, n + 1);
    if (!txt) { fail(ps, "out of memory"); return NULL; }
    memcpy(txt, s, n);
    txt[n] = '\0';
    vj_value *v = new_value(ps, VJ_NUMBER);
    if (!v) return NULL;
    /* The grammar above guarantees strtod sees a plain C-locale number. */
    v->u.number = strtod(txt, NULL);
    return v;
}

static int lit(parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return 0;
    ps->p += n;
    return 1;
}

static vj_value *parse_value(parser *ps, int depth);

static vj_value *parse_list(parser *ps, int depth, int is_obj) {
    vj_value *list = new_value(ps, is_obj ? VJ_OBJECT : VJ_ARRAY);
    if (!list) return NULL;
    ps->p++; /* '[' or '{' */
    skip_ws(ps);
    char close = is_obj ? '}' : ']';
    if (ps->p < ps->end && *ps->p == close) { ps->p++; return list; }
    vj_value **tail = &list->u.list.first;
    for (;;) {
        const char *key = NULL;
        size_t key_len = 0;
        skip_ws(ps);
        if (is_obj) {
            if (ps->p >= ps->end || *ps->p != '"') { fail(ps, "expected member name"); return NULL; }
            ps->p++;
            if (parse_string(ps, &key, &key_len) != 0) return NULL;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') { fail(ps, "expected ':'"); return NULL; }
            ps->p++;
        }
        vj_value *item = parse_value(ps, depth + 1);
        if (!item) return NULL;
        item->key = key;
        item->key_len = key_len;
        *tail = item;
        tail = &item->next;
        list->u.list.count++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == close) { ps->p++; return list; }
        fail(ps, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
        return NULL;
    }
}

static vj_value *parse_value(parser *ps, int depth) {
    if (depth > VJ_MAX_DEPTH) { fail(ps, "nesting too deep"); return NULL; }
    skip_ws(ps);
    if (ps->p >= ps->end) { fail(ps, "unexpected end of input"); return NULL; }
    switch (*ps->p) {
    case '{': return parse_list(ps, depth, 1);
    case '[': return parse_list(ps, depth, 0);
    case '"': {
        ps->p++;
        vj_value *v = new_value(ps, VJ_STRING);
        if (!v || parse_string(ps, &v->u.string.s, &v->u.string.len) != 0) return NULL;
        return v;
    }
    case 't': case 'f': case 'n': {
        vj_value *v = NULL;
        if (lit(ps, "true")) { if ((v = new_value(ps, VJ_BOOL))) v->u.boolean = 1; }
        else if (lit(ps, "false")) v = new_value(ps, VJ_BOOL);
        else if (lit(ps, "null")) v = new_value(ps, VJ_NULL);
        else fail(ps, "invalid literal");
        return v;
    }
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return parse_number(ps);
        fail(ps, "unexpected character");
        return NULL;
    }
}

int vj_parse(vj_doc *doc, const char *text, size_t len) {
    memset(doc, 0, sizeof *doc);
    parser ps = {doc, (const unsigned char *)text, (const unsigned char *)text,
                 (const unsigned char *)text + len, 0};
    vj_value *v = parse_value(&ps, 0);
    if (v) {
        skip_ws(&ps);
        if (ps.p != ps.end) { fail(&ps, "trailing characters"); v = NULL; }
    }
    if (!v) return -1;
    doc->root = v;
    return 0;
}

const vj_value *vj_get(const vj_value *obj, const char *key) {
    if (!obj || obj->type != VJ_OBJECT) return NULL;
    size_t n = strlen(key);
    const vj_value *found = NULL;
    /* The last duplicate wins, as in JavaScript's JSON.parse on the other side. */
    for (const vj_value *m = obj->u.list.first; m; m = m->next)
        if (m->key_len == n && memcmp(m->key, key, n) == 0) found = m;
    return found;
}

int vj_as_uint(const vj_value *v, uint64_t *out) {
    if (!v || v->type != VJ_NUMBER) return 0;
    double d = v->u.number;
    if (!(d >= 0) || d > (double)VJ_MAX_SAFE_INT || floor(d) != d) return 0;
    *out = (uint64_t)d;
    return 1;
}

int vj_is_cstring(const vj_value *v) {
    return v && v->type == VJ_STRING && strlen(v->u.string.s) == v->u.string.len;
}

const char *vj_type_name(const vj_value *v) {
    if (!v) return "missing";
    switch (v->type) {
    case VJ_NULL: return "null";
    case VJ_BOOL: return "boolean";
    case VJ_NUMBER: return "number";
    case VJ_STRING: return "string";
    case VJ_ARRAY: return "array";
    case VJ_OBJECT: return "object";
    }
    return "unknown";
}
