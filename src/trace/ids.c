/*
 * ids.c - trace and span ids: a per-thread xoshiro256** generator, seeded
 * once per thread from getrandom() (with the thread's address and the clock
 * mixed in, should getrandom fail). No lock, no system call after the seed.
 */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "trace_internal.h"

static TRACE_TLS uint64_t rng[4];
static TRACE_TLS int rng_seeded;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void seed(void)
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
        rng[i] = s[i] ? s[i] : splitmix(&x);
    rng_seeded = 1;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sonde_trace_random64(void)
{
    if (__builtin_expect(!rng_seeded, 0))
        seed();
    uint64_t result = rotl(rng[1] * 5, 7) * 9, t = rng[1] << 17;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 45);
    return result;
}

void sonde_trace_new_trace_id(uint8_t id[16])
{
    uint64_t a, b;
    do {
        a = sonde_trace_random64();
        b = sonde_trace_random64();
    } while (!a && !b);
    memcpy(id, &a, 8);
    memcpy(id + 8, &b, 8);
}

void sonde_trace_new_span_id(uint8_t id[8])
{
    uint64_t a;
    do
        a = sonde_trace_random64();
    while (!a);
    memcpy(id, &a, 8);
}
