/*
 * check.h - the tests' assertion macros. A failed CHECK prints where and
 * why and the test goes on; main() ends with the plain summary line
 * "N passed, N failed" that CI reads, and a non-zero exit on any failure.
 *
 *   TEST(name) { CHECK(x == 1); CHECK_EQ_INT(a, b); CHECK_EQ_STR(s, "x"); }
 *   int main(void) { RUN(name); return check_report(); }
 */
#ifndef SONDE_CHECK_H
#define SONDE_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures, check_passes, check_test_failed;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            check_test_failed = 1;                                                       \
        }                                                                                \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                               \
    do {                                                                                 \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                  \
        if (check_a_ != check_b_) {                                                      \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, \
                    #a, #b, check_a_, check_b_);                                         \
            check_test_failed = 1;                                                       \
        }                                                                                \
    } while (0)

#define CHECK_EQ_DBL(a, b)                                                               \
    do {                                                                                 \
        double check_a_ = (a), check_b_ = (b);                                           \
        if (!(check_a_ == check_b_ || (isnan(check_a_) && isnan(check_b_)))) {           \
            fprintf(stderr, "%s:%d: %s == %s failed: %.17g != %.17g\n", __FILE__,         \
                    __LINE__, #a, #b, check_a_, check_b_);                               \
            check_test_failed = 1;                                                       \
        }                                                                                \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                               \
    do {                                                                                 \
        const char *check_a_ = (a), *check_b_ = (b);                                     \
        if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                 \
            fprintf(stderr, "%s:%d: %s == %s failed:\n--- got\n%s\n--- want\n%s\n",       \
                    __FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)",         \
                    check_b_ ? check_b_ : "(null)");                                     \
            check_test_failed = 1;                                                       \
        }                                                                                \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                      \
    do {                                                                                 \
        const char *check_h_ = (hay), *check_n_ = (needle);                              \
        if (!check_h_ || !strstr(check_h_, check_n_)) {                                  \
            fprintf(stderr, "%s:%d: expected to find \"%s\" in:\n%s\n", __FILE__,         \
                    __LINE__, check_n_, check_h_ ? check_h_ : "(null)");                 \
            check_test_failed = 1;                                                       \
        }                                                                                \
    } while (0)

#define RUN(name)                                                                        \
    do {                                                                                 \
        check_test_failed = 0;                                                           \
        name();                                                                          \
        if (check_test_failed) {                                                         \
            check_failures++;                                                            \
            fprintf(stderr, "FAIL %s\n", #name);                                         \
        } else {                                                                         \
            check_passes++;                                                              \
            printf("ok %s\n", #name);                                                    \
        }                                                                                \
    } while (0)

static inline int check_report(void)
{
    printf("%d passed, %d failed\n", check_passes, check_failures);
    return check_failures ? 1 : 0;
}

#endif
