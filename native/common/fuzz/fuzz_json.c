/* libFuzzer target: the JSON parser must never crash, and parse -> write -> parse -> write
 * must reach a fixed point (the writer emits only JSON the parser accepts). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../vv_json.h"

static void write_doc(const vj_doc *d, vv_buf *b) {
    vj_writer w;
    vj_writer_init(&w, b);
    vj_value_write(&w, d->root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vj_doc d1, d2;
    if (vj_parse(&d1, (const char *)data, size) == 0) {
        vv_buf b1 = {0}, b2 = {0};
        write_doc(&d1, &b1);
        if (vj_parse(&d2, b1.data, b1.len) != 0) abort();
        write_doc(&d2, &b2);
        if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0) abort();
        vj_doc_free(&d2);
        vv_buf_free(&b1);
        vv_buf_free(&b2);
    }
    vj_doc_free(&d1);
    return 0;
}
