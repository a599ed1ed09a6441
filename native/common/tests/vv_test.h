/* vv_test: a minimal assertion harness for the C unit tests (no dependencies). */
#ifndef VV_TEST_H
#define VV_TEST_H

#include <stdio.h>
#include <string.h>

/* Counts failures; the test binary exits non-zero when any check failed. */
typedef struct { int checks, failures; } vv_test_state;

#define CHECK(ts, cond)                                                                  \
    do {                                                                                 \
        (ts)->checks++;                                                                  \
        if (!(cond)) {                                                                   \
            (ts)->failures++;                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
        }                                                                                \
    } while (0)

#define CHECK_STR(ts, got, want)                                                         \
    do {                                                                                 \
        const char *g_ = (got), *w_ = (want);                                            \
        (ts)->checks++;                                                                  \
        if (!g_ || strcmp(g_, w_) != 0) {                                                \
            (ts)->failures++;                                                            \
            fprintf(stderr, "%s:%d: got  %s\n%*swant %s\n", __FILE__, __LINE__,          \
                    g_ ? g_ : "(null)", (int)strlen(__FILE__) + 8, "", w_);              \
        }                                                                                \
    } while (0)

#define CHECK_CONTAINS(ts, got, part)                                                    \
    do {                                                                                 \
        const char *g_ = (got), *p_ = (part);                                            \
        (ts)->checks++;                                                                  \
        if (!g_ || !strstr(g_, p_)) {                                                    \
            (ts)->failures++;                                                            \
            fprintf(stderr, "%s:%d: %s\n   does not contain %s\n", __FILE__, __LINE__,   \
                    g_ ? g_ : "(null)", p_);                                             \
        }                                                                                \
    } while (0)

#endif
