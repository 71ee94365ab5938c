/*
 * test_hash.c - the string hash of src/core/hash.h: a NUL-terminated string
 * hashed and measured in one pass (sonde_hasher_cstr) gives the length and
 * the hash of sonde_hasher_str over the same bytes, whatever follows the
 * terminator and wherever the string sits: at the very end of a page whose
 * next page is not mapped (the reads past the end must stay in the page,
 * or this test faults), and at every alignment. Length and position are
 * part of the hash of a tuple.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "hash.h"

static const sonde_hash_key key = {0x0123456789abcdefull, 0xfedcba9876543210ull};

static uint64_t hash_str(const char *s, size_t n)
{
    sonde_hasher h;
    sonde_hasher_init(&h, &key);
    sonde_hasher_str(&h, s, n);
    return sonde_hasher_end(&h);
}

static uint64_t hash_cstr(const char *s, size_t *n)
{
    sonde_hasher h;
    sonde_hasher_init(&h, &key);
    *n = sonde_hasher_cstr(&h, s);
    return sonde_hasher_end(&h);
}

TEST(cstr_matches_str_at_page_end)
{
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED);
    CHECK_EQ_INT(mprotect(map + page, (size_t)page, PROT_NONE), 0); /* a read past the page faults */
    char copy[64];
    for (size_t len = 0; len <= 40; len++) {
        for (size_t gap = 0; gap <= 40; gap++) { /* bytes between the terminator and the page end */
            char *s = map + page - 1 - gap - len;
            memset(map + page - 48 - 40, 0x5a, 48 + 40);
            for (size_t i = 0; i < len; i++)
                s[i] = (char)('a' + (i * 7 + len) % 26);
            s[len] = '\0';
            memcpy(copy, s, len + 1);
            size_t n = 99;
            uint64_t h = hash_cstr(s, &n);
            CHECK_EQ_INT(n, len);
            CHECK(h == hash_str(copy, len));
            memset(s + len + 1, 0, gap); /* other bytes after the end: the same hash */
            CHECK(hash_cstr(s, &n) == h);
        }
    }
    munmap(map, (size_t)page * 2);
}

TEST(cstr_every_alignment)
{
    char buf[128];
    for (size_t off = 0; off < 16; off++) {
        for (size_t len = 0; len <= 70; len++) {
            memset(buf, 0x7f, sizeof buf);
            for (size_t i = 0; i < len; i++)
                buf[off + i] = (char)(0x80 | ((i * 13 + off) & 0x7f)); /* high bytes: no false zero */
            buf[off + len] = '\0';
            size_t n;
            uint64_t h = hash_cstr(buf + off, &n);
            CHECK_EQ_INT(n, len);
            CHECK(h == hash_str(buf + off, len));
        }
    }
}

TEST(lengths_and_boundaries_count)
{
    /* the same bytes cut differently, or padded with a NUL, hash apart */
    sonde_hasher a, b;
    sonde_hasher_init(&a, &key);
    sonde_hasher_cstr(&a, "a");
    sonde_hasher_cstr(&a, "bc");
    sonde_hasher_init(&b, &key);
    sonde_hasher_cstr(&b, "ab");
    sonde_hasher_cstr(&b, "c");
    CHECK(sonde_hasher_end(&a) != sonde_hasher_end(&b));
    CHECK(hash_str("ab", 2) != hash_str("ab\0", 3));
    CHECK(hash_str("", 0) != hash_str("\0", 1));
    /* another key, another hash */
    sonde_hash_key other = {key.k0 ^ 1, key.k1};
    sonde_hasher_init(&a, &other);
    sonde_hasher_str(&a, "GET", 3);
    CHECK(sonde_hasher_end(&a) != hash_str("GET", 3));
}

int main(void)
{
    RUN(cstr_matches_str_at_page_end);
    RUN(cstr_every_alignment);
    RUN(lengths_and_boundaries_count);
    return check_report();
}
