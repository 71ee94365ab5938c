/*
 * timer.c - timers that observe elapsed seconds into a histogram or a
 * summary. A timer is a plain struct on the caller's stack: the start time
 * from the library's monotonic clock and the target.
 */
#include "internal.h"

enum { TIMER_NONE, TIMER_HISTOGRAM, TIMER_SUMMARY };

sonde_timer sonde_timer_histogram(sonde_histogram *h)
{
    return (sonde_timer){sonde_now_ns(), h, h ? TIMER_HISTOGRAM : TIMER_NONE};
}

sonde_timer sonde_timer_summary(sonde_summary *s)
{
    return (sonde_timer){sonde_now_ns(), s, s ? TIMER_SUMMARY : TIMER_NONE};
}

double sonde_timer_stop(sonde_timer *t)
{
    if (!t)
        return 0;
    uint64_t now = sonde_now_ns();
    double seconds = now > t->start_ns ? (double)(now - t->start_ns) / 1e9 : 0;
    if (t->kind == TIMER_HISTOGRAM)
        sonde_histogram_observe(t->target, seconds);
    else if (t->kind == TIMER_SUMMARY)
        sonde_summary_observe(t->target, seconds);
    t->kind = TIMER_NONE; /* a second stop observes nothing */
    return seconds;
}
