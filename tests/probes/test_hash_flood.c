/*
 * test_hash_flood.c - hash flooding: label values built to collide under
 * the library's former unseeded hash cost no more probes than random ones.
 *
 * The former hash folded a label value eight bytes at a time as
 * h = (h ^ word) * K, so for 16-byte values h2 = ((h0 ^ w1) * K ^ w2) * K: for
 * any first word w1, the second word w2 = T ^ ((h0 ^ w1) * K) lands every
 * value on the same state T, hence the same full 64-bit hash. Picking w1 at
 * random and keeping the (about 1 in 2,800) cases where w2 is printable too
 * gives 10,000 printable values that collide completely; the test first
 * checks that they do. A family holding them, and one holding 10,000 random
 * values, are then looked up value by value, counting the slots every
 * lookup reads: this test is linked to a copy of the core compiled with
 * SONDE_COUNT_PROBES (map.h), so the count is exact, not a timing.
 *
 * It also checks the hash itself (hash.h): the key changes it, tuple
 * boundaries count, and strings of every length up to 40 bytes hash apart.
 */
#include <stdlib.h>

#include "check.h"
#include "internal.h"

enum { VALUES = 10000, LEN = 16 };

#define OLD_K 0x9E3779B97F4A7C15ull

/* The former hash of a one-label tuple, whole (hash.h and family.c before the key). */
static uint64_t old_hash(const char *s)
{
    size_t len = strlen(s), j = 0;
    uint64_t h = 0x243F6A8885A308D3ull ^ 1;
    for (; j + 8 <= len; j += 8) {
        uint64_t w;
        memcpy(&w, s + j, 8);
        h = (h ^ w) * OLD_K;
    }
    uint64_t tail = (uint64_t)len << 56;
    for (size_t b = 0; j + b < len; b++)
        tail ^= (uint64_t)(unsigned char)s[j + b] << (8 * b);
    h = (h ^ tail) * OLD_K;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 33);
}

static uint64_t rng = 0x853c49e6748fea9bull;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int printable_word(uint64_t w)
{
    for (int b = 0; b < 8; b++) {
        unsigned c = (unsigned)(w >> (8 * b)) & 0xff;
        if (c < 0x20 || c > 0x7e)
            return 0;
    }
    return 1;
}

static uint64_t random_printable_word(void)
{
    uint64_t w = 0, r = next_random();
    for (int b = 0; b < 8; b++)
        w |= (uint64_t)(0x20 + (r >> (8 * b)) % 95) << (8 * b);
    return w;
}

/* values[i] (LEN + 1 bytes each): distinct, all with the former hash state target. */
static void colliding_values(char (*values)[LEN + 1], uint64_t target)
{
    uint64_t h0 = 0x243F6A8885A308D3ull ^ 1;
    for (int n = 0; n < VALUES;) {
        uint64_t w1 = random_printable_word();
        uint64_t w2 = target ^ ((h0 ^ w1) * OLD_K);
        if (!printable_word(w2))
            continue;
        memcpy(values[n], &w1, 8);
        memcpy(values[n] + 8, &w2, 8);
        values[n][LEN] = '\0';
        n++; /* equal values would leave the family fewer children: lookup_probes checks */
    }
}

static void random_values(char (*values)[LEN + 1])
{
    for (int n = 0; n < VALUES; n++) {
        uint64_t w1 = random_printable_word(), w2 = random_printable_word();
        memcpy(values[n], &w1, 8);
        memcpy(values[n] + 8, &w2, 8);
        values[n][LEN] = '\0';
    }
}

/* Creates one child per value, then returns the probes of looking every value up again. */
static uint64_t lookup_probes(sonde_registry *r, const char *name, char (*values)[LEN + 1])
{
    static const char *const label[] = {"v"};
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = name, .help = "h", .label_names = label,
                           .label_count = 1, .cardinality_limit = 2 * VALUES};
    sonde_metric *m;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    for (int i = 0; i < VALUES; i++)
        sonde_counter_inc(sonde_counter_with(m, (const char *[]){values[i]}));
    CHECK_EQ_INT(sonde_metric_child_count(m), VALUES);
    atomic_store(&sonde_map_probes, 0);
    for (int i = 0; i < VALUES; i++)
        CHECK(sonde_counter_with(m, (const char *[]){values[i]}) != NULL);
    return atomic_load(&sonde_map_probes);
}

TEST(colliding_values_probe_like_random_ones)
{
    char(*flood)[LEN + 1] = malloc(VALUES * sizeof *flood);
    char(*plain)[LEN + 1] = malloc(VALUES * sizeof *plain);
    colliding_values(flood, 0x5eed5eed5eed5eedull);
    random_values(plain);
    int all_collide = 1;
    for (int i = 0; i < VALUES; i++)
        all_collide &= old_hash(flood[i]) == old_hash(flood[0]);
    CHECK(all_collide); /* under the former hash, one probe chain of 10,000 */

    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(NULL, &r), SONDE_OK);
    uint64_t flood_probes = lookup_probes(r, "flood_total", flood);
    uint64_t plain_probes = lookup_probes(r, "plain_total", plain);
    fprintf(stderr, "probes per lookup: colliding %.3f, random %.3f\n",
            (double)flood_probes / VALUES, (double)plain_probes / VALUES);
    CHECK(flood_probes >= VALUES && plain_probes >= VALUES);
    /* same table sizes (same number of children); a chain as long as the former hash
     * built would average 5,000 probes per lookup */
    CHECK(flood_probes * 10 <= plain_probes * 11);
    CHECK(flood_probes <= 2 * VALUES);
    sonde_registry_free(r);
    free(flood);
    free(plain);
}

static uint64_t hash_tuple(const sonde_hash_key *k, const char *const *v, size_t n)
{
    sonde_hasher h;
    sonde_hasher_init(&h, k);
    for (size_t i = 0; i < n; i++)
        sonde_hasher_str(&h, v[i], strlen(v[i]));
    return sonde_hasher_end(&h);
}

TEST(hash_depends_on_key_boundaries_and_every_byte)
{
    sonde_hash_key a, b;
    sonde_hash_key_init(&a);
    sonde_hash_key_init(&b);
    CHECK(a.k0 != b.k0 || a.k1 != b.k1);
    const char *abc[] = {"a", "bc"}, *ab_c[] = {"ab", "c"}, *empty[] = {"", "abc"};
    CHECK(hash_tuple(&a, abc, 2) != hash_tuple(&b, abc, 2));
    CHECK(hash_tuple(&a, abc, 2) != hash_tuple(&a, ab_c, 2));
    CHECK(hash_tuple(&a, abc, 2) != hash_tuple(&a, empty, 2));
    CHECK(hash_tuple(&a, abc, 2) == hash_tuple(&a, abc, 2));
    /* every length up to 40 (each read path), each byte flipped: a different hash */
    char s[41];
    for (size_t len = 1; len <= 40; len++) {
        char *exact = malloc(len); /* exactly len bytes: ASan sees any read past them */
        for (size_t i = 0; i < len; i++)
            exact[i] = s[i] = (char)('a' + i % 26);
        sonde_hasher h;
        sonde_hasher_init(&h, &a);
        sonde_hasher_str(&h, exact, len);
        uint64_t base = sonde_hasher_end(&h);
        for (size_t i = 0; i < len; i++) {
            exact[i] = 'Z';
            sonde_hasher_init(&h, &a);
            sonde_hasher_str(&h, exact, len);
            CHECK(sonde_hasher_end(&h) != base);
            exact[i] = s[i];
        }
        free(exact);
    }
}

int main(void)
{
    RUN(colliding_values_probe_like_random_ones);
    RUN(hash_depends_on_key_boundaries_and_every_byte);
    return check_report();
}
