/*
 * words.h - reading strings a word (8 bytes) at a time, for the hot paths
 * that measure and read short strings they are handed as C strings (label
 * values in the child lookup, which copies and hashes them, family.c and
 * hash.h; span names and attributes, src/trace/span.c).
 *
 * Reading past the end. Where the build allows it (SONDE_WORDS_OVERREAD: a
 * x86 target, no sanitizer), a string is read in 8-byte loads
 * that may pass its terminator, but only while those loads stay inside one
 * 4096-byte page (sonde_words_page_safe), so they can never fault whatever
 * follows the string: the technique of the C library's own strlen. The bytes
 * past the end are found with the zero-byte test of a word and never change
 * a result. Sanitizers would report such a load, so those builds take the
 * callers' byte-wise paths, which give the same results; so do targets other
 * than x86 (memory tagging, as on Arm, checks finer than a page) and builds
 * with SONDE_NO_OVERREAD defined (for valgrind's memcheck, which reports
 * such loads).
 */
#ifndef SONDE_WORDS_H
#define SONDE_WORDS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(SONDE_NO_OVERREAD) || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SONDE_WORDS_OVERREAD 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SONDE_WORDS_OVERREAD 0
#endif
#endif
#if !defined(SONDE_WORDS_OVERREAD) && (defined(__x86_64__) || defined(__i386__))
#define SONDE_WORDS_OVERREAD 1 /* little-endian, no memory tagging */
#endif
#ifndef SONDE_WORDS_OVERREAD
#define SONDE_WORDS_OVERREAD 0
#endif

static inline uint64_t sonde_read32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t sonde_read64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Whether the n bytes at s lie in one page (pages are at least 4096 bytes; n <= 4096). */
static inline int sonde_words_page_safe(const void *s, size_t n)
{
    return ((uintptr_t)s & 4095) <= 4096 - n;
}

#if SONDE_WORDS_OVERREAD
/* An 8-byte load that may reach past the end of the object p points into (within its page):
 * the empty asm hides where p points, so the compiler neither warns nor reasons about it. */
static inline uint64_t sonde_read64_past(const char *p)
{
    __asm__("" : "+r"(p));
    return sonde_read64(p);
}
#endif

/* A word's zero bytes: the lowest set bit (bit 7 of its byte) marks the first one (a borrow
 * may mark bytes after it, never before). */
static inline uint64_t sonde_zero_bytes(uint64_t w)
{
    return (w - UINT64_C(0x0101010101010101)) & ~w & UINT64_C(0x8080808080808080);
}

/* A word's bytes that are zero or not ASCII (0x80 and up): the lowest set bit marks the first. */
static inline uint64_t sonde_zero_or_high_bytes(uint64_t w)
{
    return (((w - UINT64_C(0x0101010101010101)) & ~w) | w) & UINT64_C(0x8080808080808080);
}

/* The index of the byte a mark of sonde_zero_bytes() / sonde_zero_or_high_bytes() (not 0)
 * points at, in a little-endian word. */
static inline size_t sonde_first_marked(uint64_t marks)
{
    return (size_t)__builtin_ctzll(marks) >> 3;
}

/* The n (0..8) low bytes of a little-endian word. */
static inline uint64_t sonde_low_bytes(uint64_t w, size_t n)
{
    return n >= 8 ? w : w & ((UINT64_C(1) << (n * 8)) - 1);
}

#endif
