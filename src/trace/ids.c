/*
 * ids.c - the state and the seeding of the per-thread xoshiro256** generator
 * of trace and span ids (the draws are inline in trace_internal.h): seeded
 * once per thread from getrandom() (the clock and a stack address mixed in,
 * should getrandom fail). No lock, no system call after the seed.
 */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "trace_internal.h"

TRACE_TLS uint64_t sonde_trace_rng[4];
TRACE_TLS int sonde_trace_rng_seeded;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sonde_trace_seed(void)
{
    uint64_t s[4] = {0};
    if (getrandom(s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)(uintptr_t)&ts;
        for (int i = 0; i < 4; i++)
            s[i] ^= splitmix(&x);
    }
    uint64_t x = s[0] ^ s[1] ^ s[2] ^ s[3];
    for (int i = 0; i < 4; i++)
        sonde_trace_rng[i] = s[i] ? s[i] : splitmix(&x);
    sonde_trace_rng_seeded = 1;
}
