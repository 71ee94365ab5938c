/*
 * oom_inject.c - allocation failure injection without touching the library:
 * test_oom links with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,
 * --wrap=strdup,--wrap=strndup, so every call the static library (and the
 * test) makes to those lands here; __real_* is the C library's function, or
 * the sanitizer's when the build has one. Allocations made inside the C
 * library or other shared libraries (fopen, zlib, libmicrohttpd) are not
 * seen.
 *
 * oom_arm(n, persistent) makes the n-th allocation from now fail (n >= 1),
 * and with persistent every one after it too, as SQLite's test harness
 * does. The counter is atomic, so a library thread allocating meanwhile is
 * counted, not raced.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "oom_inject.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t count, size_t n);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t count, size_t n);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static atomic_long countdown; /* 0: disarmed; else allocations left before the failure */
static atomic_int persistent, fired;
static atomic_long seen;

void oom_arm(long n, int persist)
{
    atomic_store(&fired, 0);
    atomic_store(&seen, 0);
    atomic_store(&persistent, persist);
    atomic_store(&countdown, n);
}

int oom_disarm(void)
{
    atomic_store(&countdown, 0);
    return atomic_load(&fired);
}

long oom_seen(void)
{
    return atomic_load(&seen);
}

/* 1 when this allocation must fail. */
static int should_fail(void)
{
    long c = atomic_load(&countdown);
    if (c == 0)
        return 0;
    atomic_fetch_add(&seen, 1);
    if (atomic_load(&fired))
        return atomic_load(&persistent);
    if (atomic_fetch_sub(&countdown, 1) == 1) {
        atomic_store(&fired, 1);
        atomic_store(&countdown, -1); /* stays armed (non-zero) for persistent failures */
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t count, size_t n)
{
    return should_fail() ? NULL : __real_calloc(count, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return should_fail() ? NULL : __real_strndup(s, n);
}
