/* check.h: the few assertion macros the hcs-helper unit tests use (no framework needed). */
#ifndef HCS_TEST_CHECK_H
#define HCS_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

/* Counts failures; each test binary returns non-zero when any check failed. */
static int check_failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                        \
        }                                                                            \
    } while (0)

#define CHECK_STR(actual, expected)                                                            \
    do {                                                                                       \
        const char *a_ = (actual), *e_ = (expected);                                           \
        if (!a_ || strcmp(a_, e_) != 0) {                                                      \
            fprintf(stderr, "%s:%d: expected \"%s\"\n  got      \"%s\"\n", __FILE__, __LINE__, \
                    e_, a_ ? a_ : "(null)");                                                   \
            check_failures++;                                                                  \
        }                                                                                      \
    } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                       \
    do {                                                                                       \
        const char *h_ = (haystack), *n_ = (needle);                                           \
        if (!h_ || !strstr(h_, n_)) {                                                          \
            fprintf(stderr, "%s:%d: \"%s\" not found in \"%s\"\n", __FILE__, __LINE__, n_,     \
                    h_ ? h_ : "(null)");                                                       \
            check_failures++;                                                                  \
        }                                                                                      \
    } while (0)

#endif
