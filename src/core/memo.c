/*
 * memo.c - the per-thread lookup memos of memo.h: the process's family
 * generation counter, and each thread's table, allocated at its first fill
 * and freed by a pthread key destructor at its exit. A thread that looks up
 * after its destructors ran allocates a new table, which the next round of
 * destructors frees (the key is set again); past the C library's rounds it
 * is left to the process, as any late thread-local allocation is.
 */
#include <pthread.h>
#include <stdlib.h>

#include "memo.h"

__thread sonde_memo *sonde_tls_memo __attribute__((tls_model("initial-exec")));

const unsigned char sonde_memo_skips[2 * SONDE_MEMO_VALUE] = {
    [SONDE_MEMO_VALUE ... 2 * SONDE_MEMO_VALUE - 1] = 0xff,
};

static _Atomic(uint64_t) generations = 1; /* 0 marks an empty entry */
static pthread_once_t memo_once = PTHREAD_ONCE_INIT;
static pthread_key_t memo_key;
static int memo_key_ok;

uint64_t sonde_memo_generation(void)
{
    return atomic_fetch_add_explicit(&generations, 1, memory_order_relaxed);
}

static void memo_free(void *p)
{
    sonde_tls_memo = NULL;
    free(p);
}

static void memo_init(void)
{
    memo_key_ok = pthread_key_create(&memo_key, memo_free) == 0;
}

sonde_memo_entry *sonde_memo_entry_for_fill(unsigned at)
{
    sonde_memo *m = sonde_tls_memo;
    if (__builtin_expect(m == NULL, 0)) {
        pthread_once(&memo_once, memo_init);
        if (!memo_key_ok || !(m = calloc(1, sizeof *m)))
            return NULL;
        if (pthread_setspecific(memo_key, m)) {
            free(m);
            return NULL;
        }
        sonde_tls_memo = m;
    }
    return (sonde_memo_entry *)((char *)m + at);
}
