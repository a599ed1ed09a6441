/* Unit tests for vv_json (parser and writer) and vv_lines (framing). */
#include <stdlib.h>

#include "../vv_json.h"
#include "../vv_lines.h"
#include "vv_test.h"

void test_json(vv_test_state *ts);
void test_lines(vv_test_state *ts);

/* Parses then re-serializes; returns a malloc'd string or NULL on parse failure. */
static char *roundtrip(const char *in) {
    vj_doc d;
    if (vj_parse(&d, in, strlen(in)) != 0) { vj_doc_free(&d); return NULL; }
    vv_buf b = {0};
    vj_writer w;
    vj_writer_init(&w, &b);
    vj_value_write(&w, d.root);
    vj_doc_free(&d);
    return b.data;
}

static int parses(const char *in) {
    vj_doc d;
    int ok = vj_parse(&d, in, strlen(in)) == 0;
    vj_doc_free(&d);
    return ok;
}

void test_json(vv_test_state *ts) {
    char *s;
    CHECK_STR(ts, s = roundtrip(" {\"a\" : [1, 2.5, -3e2, true, false, null, \"x\"]} "),
              "{\"a\":[1,2.5,-300,true,false,null,\"x\"]}");
    free(s);
    CHECK_STR(ts, s = roundtrip("\"\\u00e9\\ud83d\\ude00\\n\\\"\\\\\\/\""), "\"\xc3\xa9\xf0\x9f\x98\x80\\n\\\"\\\\/\"");
    free(s);
    CHECK_STR(ts, s = roundtrip("{}"), "{}");
    free(s);
    CHECK_STR(ts, s = roundtrip("[[],{},[{}]]"), "[[],{},[{}]]");
    free(s);
    CHECK_STR(ts, s = roundtrip("\"\\u0000x\""), "\"\\u0000x\"");
    free(s);

    const char *bad[] = {"", "{", "[1,]", "{\"a\":}", "01", "1.", "-", "1e", "tru", "nul", "\"abc",
                         "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"\xff\"", "\"\xc0\xaf\"",
                         "\"\xed\xa0\x80\"", "{\"a\" 1}", "[1 2]", "1 2", "\"a\nb\"", "{1:2}",
                         "NaN", "Infinity", "+1", ".5"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ts->checks++;
        if (parses(bad[i])) { ts->failures++; fprintf(stderr, "accepted bad JSON: %s\n", bad[i]); }
    }
    /* Depth limit: 64 nested arrays parse, 66 do not. */
    char deep[200];
    memset(deep, '[', 64); memset(deep + 64, ']', 64); deep[128] = 0;
    CHECK(ts, parses(deep));
    memset(deep, '[', 66); memset(deep + 66, ']', 66); deep[132] = 0;
    CHECK(ts, !parses(deep));

    vj_doc d;
    const char *nums = "{\"id\":9007199254740991,\"n\":-1,\"f\":1.5,\"big\":9007199254740992,\"e\":2e1}";
    CHECK(ts, vj_parse(&d, nums, strlen(nums)) == 0);
    uint64_t u = 0;
    CHECK(ts, vj_as_uint(vj_get(d.root, "id"), &u) && u == 9007199254740991ULL);
    CHECK(ts, !vj_as_uint(vj_get(d.root, "n"), &u));
    CHECK(ts, !vj_as_uint(vj_get(d.root, "f"), &u));
    CHECK(ts, !vj_as_uint(vj_get(d.root, "big"), &u));
    CHECK(ts, vj_as_uint(vj_get(d.root, "e"), &u) && u == 20);
    CHECK(ts, vj_get(d.root, "missing") == NULL);
    vj_doc_free(&d);

    /* The writer turns invalid UTF-8 and control bytes into valid JSON. */
    vv_buf b = {0};
    vj_writer w;
    vj_writer_init(&w, &b);
    vj_obj_begin(&w);
    vj_key(&w, "s");
    vj_strn(&w, "a\xff\x01\xe2\x82", 5);
    vj_key(&w, "n");
    vj_int(&w, -5);
    vj_key(&w, "l");
    vj_arr_begin(&w); vj_bool(&w, 1); vj_null(&w); vj_double(&w, 0.25); vj_arr_end(&w);
    vj_obj_end(&w);
    CHECK_STR(ts, b.data, "{\"s\":\"a\xef\xbf\xbd\\u0001\xef\xbf\xbd\xef\xbf\xbd\",\"n\":-5,\"l\":[true,null,0.25]}");
    CHECK(ts, parses(b.data));
    /* A bare member list (what events are built from) gets its commas too. */
    vv_buf_clear(&b);
    vj_writer_init(&w, &b);
    vj_key(&w, "a"); vj_int(&w, 1);
    vj_key(&w, "b"); vj_str(&w, "x");
    CHECK_STR(ts, b.data, "\"a\":1,\"b\":\"x\"");
    vv_buf_free(&b);
}

typedef struct { vv_buf all; int oversized; int lines; } line_log;

static void on_line(void *ctx, const char *line, size_t len) {
    line_log *l = ctx;
    if (!line) { l->oversized++; vv_buf_adds(&l->all, "<OVER>|"); return; }
    l->lines++;
    vv_buf_add(&l->all, line, len);
    vv_buf_addc(&l->all, '|');
}

void test_lines(vv_test_state *ts) {
    line_log log = {0};
    vv_lines l = {0};
    l.cap = 8;
    const char *in = "ab\r\n\n  \ncd";
    /* Byte by byte, to exercise partial lines. */
    for (const char *p = in; *p; p++) vv_lines_feed(&l, p, 1, on_line, &log);
    vv_lines_feed(&l, "e\n12345678\n123456789\nxy\n", 24, on_line, &log);
    CHECK_STR(ts, vv_buf_str(&log.all), "ab|cde|12345678|<OVER>|xy|");
    /* An oversized line split across feeds is reported once, as soon as the cap is passed. */
    vv_buf_clear(&log.all);
    vv_lines_feed(&l, "aaaaa", 5, on_line, &log);
    vv_lines_feed(&l, "bbbbb", 5, on_line, &log);
    CHECK_STR(ts, vv_buf_str(&log.all), "<OVER>|");
    vv_lines_feed(&l, "ccc\nok\n", 7, on_line, &log);
    CHECK_STR(ts, vv_buf_str(&log.all), "<OVER>|ok|");
    vv_lines_free(&l);
    vv_buf_free(&log.all);
}
