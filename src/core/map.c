/*
 * map.c - growing, filling and emptying the concurrent maps of map.h. A
 * table never passes half load (entries plus tombstones), so a probe always
 * meets an empty slot and ends, and chains stay short for random hashes.
 */
#include <stdlib.h>

#include "core_iface.h"
#include "ebr.h"
#include "sonde/error.h"

#ifdef SONDE_COUNT_PROBES
_Atomic(uint64_t) sonde_map_probes;
#endif

#define MIN_SLOTS 8

static sonde_map_table *table_new(size_t slots)
{
    sonde_map_table *t = calloc(1, sizeof *t + slots * sizeof t->slot[0]);
    if (t)
        t->mask = slots - 1;
    return t;
}

static void table_put(sonde_map_table *t, void *entry)
{
    size_t i = *(const uint64_t *)entry & t->mask;
    for (;;) {
        void *s = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
        if (!s) {
            t->used++;
            break;
        }
        if (s == SONDE_MAP_TOMBSTONE)
            break;
        i = (i + 1) & t->mask;
    }
    atomic_store_explicit(&t->slot[i], entry, memory_order_release);
}

int sonde_internal_map_init(sonde_map *m, size_t max, int flags)
{
    atomic_store_explicit(&m->table, NULL, memory_order_relaxed); /* destroy is safe on failure */
    m->count = 0;
    m->max = max;
    sonde_hash_key key;
    sonde_hash_key_init(&key);
    sonde_hasher_init(&m->start, &key);
    size_t slots = MIN_SLOTS;
    if (flags & SONDE_MAP_PRESIZED) {
        if (max >= ((size_t)1 << 28))
            return SONDE_ENOMEM;
        while (slots < 2 * (max + 1))
            slots *= 2;
    }
    sonde_map_table *t = table_new(slots);
    atomic_store_explicit(&m->table, t, memory_order_release);
    return t ? SONDE_OK : SONDE_ENOMEM;
}

/* Make room for one more entry at load <= 1/2: a table sized for the live entries at
 * load <= 1/4, without tombstones. */
static int reserve(sonde_map *m)
{
    sonde_map_table *t = atomic_load_explicit(&m->table, memory_order_relaxed);
    if ((t->used + 1) * 2 <= t->mask + 1)
        return SONDE_OK;
    size_t slots = MIN_SLOTS;
    while ((m->count + 1) * 4 > slots)
        slots *= 2;
    sonde_map_table *nt = table_new(slots);
    if (!nt)
        return SONDE_ENOMEM;
    for (size_t i = 0; i <= t->mask; i++) {
        void *e = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
        if (e && e != SONDE_MAP_TOMBSTONE)
            table_put(nt, e);
    }
    atomic_store_explicit(&m->table, nt, memory_order_release);
    sonde_defer_free(t);
    sonde_ebr_reclaim(); /* a table is big: free it as soon as no lookup holds it */
    return SONDE_OK;
}

int sonde_internal_map_put(sonde_map *m, void *entry)
{
    if (m->count >= m->max)
        return SONDE_ELIMIT;
    int rc = reserve(m);
    if (rc)
        return rc;
    table_put(atomic_load_explicit(&m->table, memory_order_relaxed), entry);
    m->count++;
    return SONDE_OK;
}

void sonde_internal_map_remove(sonde_map *m, void *entry)
{
    sonde_map_table *t = atomic_load_explicit(&m->table, memory_order_relaxed);
    for (size_t i = *(const uint64_t *)entry & t->mask;; i = (i + 1) & t->mask) {
        void *s = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
        if (!s)
            return;
        if (s == entry) {
            atomic_store_explicit(&t->slot[i], SONDE_MAP_TOMBSTONE, memory_order_release);
            m->count--;
            return;
        }
    }
}

void sonde_internal_map_foreach(const sonde_map *m, void (*fn)(void *entry, void *ud), void *ud)
{
    const sonde_map_table *t = atomic_load_explicit(&m->table, memory_order_acquire);
    if (!t)
        return;
    for (size_t i = 0; i <= t->mask; i++) {
        void *e = atomic_load_explicit(&t->slot[i], memory_order_acquire);
        if (e && e != SONDE_MAP_TOMBSTONE)
            fn(e, ud);
    }
}

typedef struct entry_freer {
    void (*free_entry)(void *);
} entry_freer;

static void free_one(void *entry, void *ud)
{
    ((entry_freer *)ud)->free_entry(entry);
}

void sonde_internal_map_destroy(sonde_map *m, void (*free_entry)(void *))
{
    sonde_map_table *t = atomic_load_explicit(&m->table, memory_order_relaxed);
    if (!t)
        return;
    if (free_entry) {
        entry_freer f = {free_entry};
        sonde_internal_map_foreach(m, free_one, &f);
    }
    atomic_store_explicit(&m->table, NULL, memory_order_relaxed);
    sonde_defer_free(t);
}
