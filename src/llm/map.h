/*
 * map.h - a fixed-capacity hash map with lock-free lookup, for the LLM
 * module's caches of routes and series.
 *
 * Open addressing with linear probing over a power-of-two array of entry
 * pointers, sized at creation for at most `cap` entries at load <= 1/2, so
 * it never grows and never moves: readers probe with acquire loads and no
 * lock, writers insert under the owner's lock and publish with a release
 * store. Entries are never removed (they live as long as the module), so a
 * reader can never see a freed entry. Every entry begins with its uint64_t
 * hash, which a probe compares before calling the full match.
 */
#ifndef SONDE_LLM_MAP_H
#define SONDE_LLM_MAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct llm_map {
    size_t mask; /* slots - 1 */
    size_t cap;  /* entries allowed */
    size_t used; /* entries present (writers only, under the owner's lock) */
    _Atomic(void *) slot[];
} llm_map;

/* A map for up to cap entries (cap >= 1); NULL when out of memory. */
llm_map *llm_map_new(size_t cap);

/* Insert an entry (its hash first); SONDE_ELIMIT when cap entries are present.
 * The caller holds the owner's lock and checked that no equal entry exists. */
int llm_map_put(llm_map *m, void *entry);

/* Free the map and, with free_entry (may be NULL), every entry. */
void llm_map_free(llm_map *m, void (*free_entry)(void *));

/* Find the entry with this hash for which match(entry, key) is true. */
static inline void *llm_map_find(const llm_map *m, uint64_t hash,
                                 int (*match)(const void *entry, const void *key), const void *key)
{
    for (size_t i = hash & m->mask;; i = (i + 1) & m->mask) {
        void *e = atomic_load_explicit(&m->slot[i], memory_order_acquire);
        if (!e)
            return NULL;
        if (*(const uint64_t *)e == hash && match(e, key))
            return e;
    }
}

#endif
