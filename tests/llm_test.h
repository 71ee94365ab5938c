/*
 * llm_test.h - helpers of the LLM module's tests: a fake monotonic clock
 * driven in whole milliseconds, and exact reads of a series by family name
 * and label values without creating it (sonde_family_find from the core's
 * private header), so a test can also check that a series does not exist.
 */
#ifndef SONDE_LLM_TEST_H
#define SONDE_LLM_TEST_H

#include <stdint.h>

#include "check.h"
#include "internal.h"

#define LLM_TEST_BASE_NS 1000000000000ull /* 1000 s: clocks never start at 0 */

static uint64_t llm_test_now = LLM_TEST_BASE_NS;

static uint64_t llm_test_clock(void *ud)
{
    (void)ud;
    return llm_test_now;
}

static uint64_t llm_test_wall(void *ud)
{
    (void)ud;
    return 1700000000ull * 1000000000ull;
}

/* Use the fake clocks, at the base time. */
static inline void fake_clock_start(void)
{
    llm_test_now = LLM_TEST_BASE_NS;
    sonde_set_clock(llm_test_clock, llm_test_wall, NULL);
}

/* Move the fake monotonic clock to base + ms. */
static inline void at_ms(uint64_t ms)
{
    llm_test_now = LLM_TEST_BASE_NS + ms * 1000000ull;
}

/* The child of family name for values, or NULL when the series does not exist. */
static inline void *series(sonde_registry *reg, const char *name, const char *const *values)
{
    sonde_metric *m = sonde_registry_find(reg, name);
    return m ? sonde_family_find((sonde_family *)m, values) : NULL;
}

static inline double counter_at(sonde_registry *reg, const char *name, const char *const *values)
{
    sonde_counter *c = series(reg, name, values);
    return c ? sonde_counter_value(c) : -1.0;
}

static inline double gauge_at(sonde_registry *reg, const char *name, const char *const *values)
{
    sonde_gauge *g = series(reg, name, values);
    return g ? sonde_gauge_value(g) : -1.0;
}

/*
 * Check a histogram series exactly: count, sum, and every bucket, where
 * want_buckets lists (bucket index, non-cumulative count) pairs and every
 * other bucket must be 0. Bucket index = position of the first bound >= v;
 * the +Inf bucket has index bound_count.
 */
#define CHECK_HIST(reg, name, values, want_count, want_sum, ...)                                   \
    do {                                                                                           \
        sonde_histogram *h_ = series(reg, name, values);                                           \
        CHECK(h_ != NULL);                                                                         \
        if (h_) {                                                                                  \
            const size_t pairs_[] = {__VA_ARGS__};                                                 \
            size_t nb_ = ((sonde_child *)h_)->fam->bound_count + 1;                                \
            uint64_t got_[64] = {0}, want_[64] = {0}, count_;                                      \
            double sum_;                                                                           \
            for (size_t i_ = 0; i_ + 1 < sizeof pairs_ / sizeof pairs_[0]; i_ += 2)                \
                want_[pairs_[i_]] = pairs_[i_ + 1];                                                \
            sonde_histogram_read(h_, &count_, &sum_, got_);                                        \
            CHECK_EQ_INT(count_, want_count);                                                      \
            CHECK_EQ_DBL(sum_, want_sum);                                                          \
            for (size_t i_ = 0; i_ < nb_; i_++)                                                    \
                CHECK_EQ_INT(got_[i_], want_[i_]);                                                 \
        }                                                                                          \
    } while (0)

#endif
