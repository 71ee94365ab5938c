/*
 * ebr.h - epoch-based reclamation: freeing memory (and recycling cell ids)
 * that lock-free readers may still hold, with no timing assumption.
 *
 * Readers (a child lookup, a by-name update, a scrape) bracket their reads
 * with sonde_ebr_enter() / sonde_ebr_leave(). Entering stores the global
 * epoch into the thread's record, then a fence orders that store before the
 * reads; leaving stores 0. Sections nest (a depth count), so a by-name update
 * may contain a lookup. The fence is asymmetric where Linux offers
 * membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED), as in liburcu's "memb"
 * flavour: the reader only stops the compiler from reordering, and the
 * reclaimer, which is rare, makes every running thread of the process
 * execute a full barrier before it reads the records. Elsewhere both sides
 * use a seq_cst fence: the thread's record says which (its state), so the
 * inline path tests one byte and fenced threads take the out-of-line one.
 *
 * A writer first unlinks what it retires (so that no new reader can reach
 * it), then hands it to sonde_defer(): that tags it with the current epoch g
 * and bumps the epoch to g + 1 (a seq_cst read-modify-write). A reader that
 * announced an epoch > g read the epoch after the bump, so after the unlink:
 * it cannot reach the item. A reader that announced <= g may hold it. The
 * item is freed once every thread in a section announced an epoch > g; with
 * no timer, a reader stalled for any time keeps it alive.
 *
 * Reclamation runs on the writers' side: every 32 sonde_defer() calls, and
 * when a writer that retired something big (a child table, a family) calls
 * sonde_ebr_reclaim(), scanning the records of the threads that ever read
 * (they are unlinked at thread exit). Callbacks run with no lock held. A thread that reads after its record was unlinked
 * (from a late thread-exit destructor) counts as an anonymous reader, which
 * holds back every reclamation while it reads.
 */
#ifndef SONDE_EBR_H
#define SONDE_EBR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sonde_ebr_thread {
    _Atomic(uint64_t) epoch; /* the epoch announced at entry; 0 outside any section */
    unsigned depth;          /* nesting of sections; owner only */
    unsigned char state;     /* owner only: EBR_UNREGISTERED, EBR_REGISTERED or EBR_EXITED */
    struct sonde_ebr_thread *next, *prev; /* the list of records, under the EBR lock */
} sonde_ebr_thread;

/* REGISTERED: listed, sections fenced by the reclaimer's membarrier (the fast path);
 * FENCED: listed, each section entered with a seq_cst fence (no membarrier here). */
enum { SONDE_EBR_UNREGISTERED = 0, SONDE_EBR_REGISTERED = 1, SONDE_EBR_EXITED = 2, SONDE_EBR_FENCED = 3 };

extern __thread sonde_ebr_thread sonde_ebr_self __attribute__((tls_model("initial-exec")));
extern _Atomic(uint64_t) sonde_ebr_epoch;

void sonde_ebr_enter_slow(sonde_ebr_thread *t);
void sonde_ebr_leave_slow(sonde_ebr_thread *t);

/* Begin a read section: pointers loaded from shared structures until the matching leave
 * stay valid. */
static inline void sonde_ebr_enter(void)
{
    sonde_ebr_thread *t = &sonde_ebr_self;
    if (t->depth++)
        return;
    if (__builtin_expect(t->state != SONDE_EBR_REGISTERED, 0)) {
        sonde_ebr_enter_slow(t); /* FENCED, or not listed yet, or anonymous */
        return;
    }
    atomic_store_explicit(&t->epoch, atomic_load_explicit(&sonde_ebr_epoch, memory_order_acquire),
                          memory_order_relaxed);
    /* the announce is visible before any read: the reclaimer's membarrier (FENCED threads
     * have a fence of their own in the slow path) */
    atomic_signal_fence(memory_order_seq_cst);
}

static inline void sonde_ebr_leave(void)
{
    sonde_ebr_thread *t = &sonde_ebr_self;
    if (--t->depth)
        return;
    if (__builtin_expect(t->state == SONDE_EBR_REGISTERED, 1))
        atomic_store_explicit(&t->epoch, 0, memory_order_release);
    else
        sonde_ebr_leave_slow(t); /* FENCED, or anonymous */
}

/* Call free_fn(ptr) (free(ptr)) once no reader can hold ptr: the caller has already made it
 * unreachable. Without memory for the bookkeeping, ptr is freed at once when no reader is
 * in a section, and leaks otherwise rather than risk a use after free. NULL is ignored. */
void sonde_defer(void (*free_fn)(void *), void *ptr);
void sonde_defer_free(void *ptr);

/* Run the callbacks of every retired item that no reader can hold any more (a scan of the
 * readers; otherwise sonde_defer() scans every 32 retirements). */
void sonde_ebr_reclaim(void);

/* Internal, for tests: items retired and not yet reclaimed. */
size_t sonde_ebr_pending(void);

/* Internal test hook: when set, called by a child lookup inside its read section with the
 * child it found, so a test can stall a reader that holds a pointer. */
extern void (*sonde_ebr_test_hook)(const void *held);

static inline void sonde_ebr_test_point(const void *held)
{
    void (*hook)(const void *) = sonde_ebr_test_hook;
    if (__builtin_expect(hook != NULL, 0))
        hook(held);
}

#endif
