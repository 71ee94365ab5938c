/*
 * map.h - the library's one concurrent hash map: core children by label
 * values (family.c), HTTP routes by name (src/http/routes.c), LLM routes and
 * series by their tuples (src/llm).
 *
 * Open addressing with linear probing over a power-of-two array of entry
 * pointers. Every entry begins with its uint64_t hash (computed with the
 * map's own random key, hash.h), which a probe compares before calling the
 * full match. Readers probe with acquire loads and take no lock; writers
 * (put, remove) hold the owner's lock and publish with release stores. A
 * removed entry leaves a tombstone so that later probes go on past it.
 * When entries plus tombstones would pass half the slots, put builds a new
 * table twice as large (or as large, without the tombstones), publishes it
 * and hands the old one to sonde_defer_free(): a reader still probing it
 * finds what it held. A map made with SONDE_MAP_PRESIZED gets a table for
 * all its entries at once, which never moves: insert-only owners (HTTP
 * routes, LLM routes and series) then need no reclamation at all. Entries
 * themselves belong to the owner, which must defer freeing a removed entry
 * the same way.
 *
 * The functions that change a map are declared in core_iface.h (libsonde
 * exports them to libsonde-http as sonde_internal_map_*); finding is inline.
 *
 * Builds with SONDE_COUNT_PROBES defined count every slot a lookup reads in
 * sonde_map_probes (tests measure chain lengths with it, not with a clock).
 */
#ifndef SONDE_MAP_H
#define SONDE_MAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#define SONDE_MAP_TOMBSTONE ((void *)1)

typedef struct sonde_map_table {
    size_t mask; /* slots - 1 */
    size_t used; /* entries + tombstones (writers only) */
    _Atomic(void *) slot[];
} sonde_map_table;

typedef struct sonde_map {
    _Atomic(sonde_map_table *) table;
    size_t count;       /* live entries (writers only) */
    size_t max;         /* entries allowed */
    sonde_hasher start; /* a hasher fresh from the key every hash of this map's entries is
                         * made with (drawn at init): a lookup starts from a copy */
} sonde_map;

#ifdef SONDE_COUNT_PROBES
extern _Atomic(uint64_t) sonde_map_probes;
#define SONDE_MAP_PROBE() atomic_fetch_add_explicit(&sonde_map_probes, 1, memory_order_relaxed)
#else
#define SONDE_MAP_PROBE() ((void)0)
#endif

/* sonde_internal_map_init() flag: room for max entries at once, the table never moves. */
#define SONDE_MAP_PRESIZED 1

/* Start hashing a key of this map. */
static inline void sonde_map_hasher(const sonde_map *m, sonde_hasher *h)
{
    *h = m->start;
}

/* The entry with this hash for which match(entry, key) is true, or NULL. */
static inline void *sonde_map_find(const sonde_map *m, uint64_t hash,
                                   int (*match)(const void *entry, const void *key),
                                   const void *key)
{
    const sonde_map_table *t = atomic_load_explicit(&m->table, memory_order_acquire);
    for (size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
        SONDE_MAP_PROBE();
        void *e = atomic_load_explicit(&t->slot[i], memory_order_acquire);
        if (!e)
            return NULL;
        if (e != SONDE_MAP_TOMBSTONE && *(const uint64_t *)e == hash && match(e, key))
            return e;
    }
}

#endif
