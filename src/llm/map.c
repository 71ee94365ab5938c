/*
 * map.c - creating, filling and freeing the fixed-capacity maps of map.h.
 * The slot array has at least twice as many slots as entries allowed, so a
 * probe always meets an empty slot and ends.
 */
#include <stdlib.h>

#include "map.h"
#include "sonde/error.h"

llm_map *llm_map_new(size_t cap)
{
    if (cap == 0 || cap > ((size_t)1 << 28))
        return NULL;
    size_t slots = 2;
    while (slots < cap * 2)
        slots *= 2;
    llm_map *m = calloc(1, sizeof *m + slots * sizeof m->slot[0]);
    if (!m)
        return NULL;
    m->mask = slots - 1;
    m->cap = cap;
    return m;
}

int llm_map_put(llm_map *m, void *entry)
{
    if (m->used >= m->cap)
        return SONDE_ELIMIT;
    size_t i = *(const uint64_t *)entry & m->mask;
    while (atomic_load_explicit(&m->slot[i], memory_order_relaxed))
        i = (i + 1) & m->mask;
    atomic_store_explicit(&m->slot[i], entry, memory_order_release);
    m->used++;
    return SONDE_OK;
}

void llm_map_free(llm_map *m, void (*free_entry)(void *))
{
    if (!m)
        return;
    if (free_entry)
        for (size_t i = 0; i <= m->mask; i++) {
            void *e = atomic_load_explicit(&m->slot[i], memory_order_relaxed);
            if (e)
                free_entry(e);
        }
    free(m);
}
