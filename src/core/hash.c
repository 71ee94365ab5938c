/*
 * hash.c - random keys for the keyed hash of hash.h. Each map draws its own
 * key when it is created; getrandom() never blocks once the kernel's pool is
 * initialised (always the case after early boot). Should it fail (an old
 * kernel, a seccomp filter), the key is mixed from the clock, an address of
 * this call's stack and the pid: not secret against a local attacker, but
 * still unknown to a remote one that only chooses label values.
 */
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"

void sonde_hash_key_init(sonde_hash_key *k)
{
    uint64_t key[2];
    if (getrandom(key, sizeof key, GRND_NONBLOCK) != (ssize_t)sizeof key) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sonde_hasher h;
        sonde_hash_key fixed = {(uint64_t)ts.tv_nsec, (uint64_t)ts.tv_sec};
        sonde_hasher_init(&h, &fixed);
        sonde_hasher_u64(&h, (uint64_t)(uintptr_t)&key);
        sonde_hasher_u64(&h, (uint64_t)getpid());
        key[0] = sonde_hasher_end(&h);
        fixed.k0 ^= key[0];
        sonde_hasher_init(&h, &fixed);
        sonde_hasher_u64(&h, key[0]);
        key[1] = sonde_hasher_end(&h);
    }
    k->k0 = key[0];
    k->k1 = key[1];
}
