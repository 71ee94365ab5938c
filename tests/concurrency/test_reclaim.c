/*
 * test_reclaim.c - epoch-based reclamation (ebr.h) with a reader stalled by
 * the test hook, and the reuse of cell ids.
 *
 * A reader thread looks up a child; the hook stops it inside its read
 * section, holding the child. Meanwhile the test removes that child, grows
 * the family's table (so the old table is retired too), creates new
 * children, and asks for reclamation again and again: nothing the reader
 * may hold is freed (ASan and TSan would see the reader's reads after the
 * hook returns), and no new child gets the removed child's cell ids, whose
 * values stay untouched. Once the reader leaves, everything retired is
 * reclaimed, the next child of the same size gets the removed child's ids,
 * and it starts at 0 although the old one had counts in several arenas.
 * The same holds for a by-name update stalled across an unregister.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int holding, may_go;
static __thread int is_reader;
static const sonde_child *held;
static char held_blob[64];
static uint32_t held_cell;
static int held_intact;

/* The hook: in the reader thread only, record what is held, wait, then read it again. */
static void stall(const void *p)
{
    if (!is_reader)
        return;
    const sonde_child *c = p;
    pthread_mutex_lock(&mu);
    held = c;
    held_cell = c->cell;
    memcpy(held_blob, c->blob, c->blob_len < sizeof held_blob ? c->blob_len : sizeof held_blob);
    holding = 1;
    pthread_cond_broadcast(&cv);
    while (!may_go)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    /* still inside the read section: the memory and the ids must be the child's */
    held_intact = c->cell == held_cell && memcmp(c->blob, held_blob, c->blob_len) == 0 &&
                  sonde_cells_sum_u64(c->cell) == 3;
}

static void wait_holding(void)
{
    pthread_mutex_lock(&mu);
    while (!holding)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static void release_reader(void)
{
    pthread_mutex_lock(&mu);
    may_go = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void reset(void)
{
    holding = may_go = 0;
    held = NULL;
    held_intact = 0;
}

static sonde_metric *fam;

static void *lookup_reader(void *arg)
{
    (void)arg;
    is_reader = 1;
    sonde_counter_with(fam, (const char *[]){"victim"});
    return NULL;
}

static void *inc_one(void *arg)
{
    sonde_counter_inc(arg);
    sonde_counter_add(arg, 0.5); /* the fraction cell, in the mirror half of the ids */
    return NULL;
}

TEST(stalled_lookup_keeps_memory_and_ids)
{
    sonde_registry *reg;
    CHECK(sonde_registry_new(NULL, &reg) == SONDE_OK);
    static const char *const names[] = {"k"};
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "r_total", .help = "h", .label_names = names, .label_count = 1};
    CHECK(sonde_register(reg, &o, &fam) == SONDE_OK);
    sonde_counter *victim = sonde_counter_with(fam, (const char *[]){"victim"});
    sonde_counter_inc(victim);
    sonde_counter_add(victim, 0.25);
    for (int i = 0; i < 2; i++) { /* counts in other arenas too: all must be zeroed on reuse */
        pthread_t t;
        CHECK(pthread_create(&t, NULL, inc_one, victim) == 0);
        pthread_join(t, NULL);
    }
    uint32_t victim_cell = ((sonde_child *)victim)->cell;

    reset();
    sonde_ebr_test_hook = stall;
    pthread_t reader;
    CHECK(pthread_create(&reader, NULL, lookup_reader, NULL) == 0);
    wait_holding();
    CHECK(held == (const sonde_child *)victim);

    CHECK_EQ_INT(sonde_metric_remove(fam, (const char *[]){"victim"}), SONDE_OK);
    char label[32];
    int overlap = 0;
    for (int i = 0; i < 200; i++) { /* grows the table: old tables are retired as well */
        snprintf(label, sizeof label, "new-%d", i);
        sonde_child *c = (sonde_child *)sonde_counter_with(fam, (const char *[]){label});
        CHECK(c != NULL);
        overlap |= c && c->cell == victim_cell; /* a counter owns one id (and its mirror) */
        sonde_ebr_reclaim();
    }
    CHECK(!overlap);                   /* the ids of the held child were not reused */
    CHECK(sonde_ebr_pending() >= 3);   /* the child, its ids and the old tables wait */

    release_reader();
    pthread_join(reader, NULL);
    sonde_ebr_test_hook = NULL;
    CHECK(held_intact);

    sonde_ebr_reclaim();
    CHECK_EQ_INT(sonde_ebr_pending(), 0); /* no reader left: everything reclaimed */
    sonde_child *reused = (sonde_child *)sonde_counter_with(fam, (const char *[]){"reused"});
    CHECK(reused != NULL);
    CHECK_EQ_INT(reused->cell, victim_cell); /* the ids come back */
    CHECK_EQ_DBL(sonde_counter_value((sonde_counter *)reused), 0);
    sonde_counter_inc((sonde_counter *)reused);
    CHECK_EQ_DBL(sonde_counter_value((sonde_counter *)reused), 1);
    sonde_registry_free(reg);
}

static sonde_registry *byname_reg;

static void *byname_reader(void *arg)
{
    (void)arg;
    is_reader = 1;
    const sonde_label l[] = {{"k", "victim"}};
    sonde_add(byname_reg, "b_total", l, 1, 1); /* stalls in the lookup, then adds */
    return NULL;
}

TEST(stalled_byname_update_survives_unregister)
{
    CHECK(sonde_registry_new(NULL, &byname_reg) == SONDE_OK);
    static const char *const names[] = {"k"};
    sonde_metric *m;
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "b_total", .help = "h", .label_names = names, .label_count = 1};
    CHECK(sonde_register(byname_reg, &o, &m) == SONDE_OK);
    sonde_counter *victim = sonde_counter_with(m, (const char *[]){"victim"});
    sonde_counter_add(victim, 3);

    reset();
    sonde_ebr_test_hook = stall;
    pthread_t reader;
    CHECK(pthread_create(&reader, NULL, byname_reader, NULL) == 0);
    wait_holding();
    CHECK_EQ_INT(sonde_unregister(m), SONDE_OK); /* the family and its children are retired */
    sonde_ebr_reclaim();
    CHECK(sonde_ebr_pending() > 0);
    release_reader();
    pthread_join(reader, NULL); /* its add went to the retired child: harmless */
    sonde_ebr_test_hook = NULL;
    CHECK(held_intact);
    sonde_ebr_reclaim();
    CHECK_EQ_INT(sonde_ebr_pending(), 0);
    sonde_registry_free(byname_reg);
}

int main(void)
{
    RUN(stalled_lookup_keeps_memory_and_ids);
    RUN(stalled_byname_update_survives_unregister);
    return check_report();
}
