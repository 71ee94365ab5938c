/*
 * response_store_sqlite.c - the embedded response store (response_store.h)
 * on SQLite: one table, one row per response holding its three JSON
 * documents as text, an index on the creation time for retention. One
 * connection serialised by a mutex (the gateway's calls are short: one
 * statement each), its statements prepared once at open. Retention after
 * each put costs index seeks, never a scan: the store counts its rows (counted
 * once at open, then kept by every insert and delete), deletes the oldest
 * beyond max_count through the creation-time index, and deletes rows older
 * than max_age_s at most once a second; get() also ignores an expired row, so
 * the age limit holds between those passes. Holds are a list of the
 * callers' nodes under the same mutex; get() and delete() wait on a condition
 * variable while their id is held.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h" /* gw_json_dumps */
#include "response_store.h"

enum {
    ST_INSERT,
    ST_GET,
    ST_DELETE,    /* also the row a put replaces */
    ST_EXPIRE,    /* DELETE the rows older than ?1 */
    ST_TRIM,      /* DELETE the ?1 oldest rows */
    ST_COUNT
};

static const char *const statements[ST_COUNT] = {
    [ST_INSERT] = "INSERT INTO responses (id, created_at, response, input_items, context) "
                  "VALUES (?1,?2,?3,?4,?5)",
    [ST_GET] = "SELECT response, input_items, context FROM responses WHERE id = ?1 AND "
               "created_at >= ?2",
    [ST_DELETE] = "DELETE FROM responses WHERE id = ?1",
    [ST_EXPIRE] = "DELETE FROM responses WHERE created_at < ?1",
    [ST_TRIM] = "DELETE FROM responses WHERE rowid IN (SELECT rowid FROM responses ORDER BY "
                "created_at, rowid LIMIT ?1)",
};

struct gw_response_store {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    pthread_mutex_t mu;
    pthread_cond_t released;  /* a hold went away */
    gw_response_hold *holds;
    long max_count, max_age_s;
    int64_t rows;       /* the table's rows */
    time_t expired_at;  /* the last age pass */
};

/* The statement i, reset for new bindings (under the mutex). */
static sqlite3_stmt *stmt(gw_response_store *s, int i)
{
    sqlite3_reset(s->st[i]);
    sqlite3_clear_bindings(s->st[i]);
    return s->st[i];
}

/* Run a DELETE statement bound to ?1 = a; the rows it deleted, or -1. */
static int64_t delete_rows(gw_response_store *s, int i, int64_t a)
{
    sqlite3_stmt *st = stmt(s, i);
    sqlite3_bind_int64(st, 1, a);
    if (sqlite3_step(st) != SQLITE_DONE) return -1;
    int64_t n = sqlite3_changes(s->db);
    s->rows -= n;
    return n;
}

static int count_rows(gw_response_store *s)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM responses", -1, &st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
    s->rows = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

gw_response_store *gw_response_store_open(const char *path, long max_count, long max_age_s,
                                          char *err, size_t errlen)
{
    gw_response_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->max_count = max_count;
    s->max_age_s = max_age_s;
    int ok = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_NOMUTEX, NULL) == SQLITE_OK &&
             sqlite3_exec(s->db,
                          "CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, created_at "
                          "INTEGER NOT NULL, response TEXT NOT NULL, input_items TEXT NOT NULL, "
                          "context TEXT NOT NULL);"
                          "CREATE INDEX IF NOT EXISTS responses_created ON responses(created_at);",
                          NULL, NULL, NULL) == SQLITE_OK &&
             count_rows(s) == 0;
    for (int i = 0; ok && i < ST_COUNT; i++)
        ok = sqlite3_prepare_v3(s->db, statements[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i],
                                NULL) == SQLITE_OK;
    if (!ok) {
        snprintf(err, errlen, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
        sqlite3_close(s->db);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->released, NULL);
    return s;
}

void gw_response_store_close(gw_response_store *s)
{
    if (!s) return;
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->released);
    free(s);
}

void gw_response_store_hold(gw_response_store *s, gw_response_hold *h, const char *id)
{
    h->id = id;
    pthread_mutex_lock(&s->mu);
    h->next = s->holds;
    s->holds = h;
    pthread_mutex_unlock(&s->mu);
}

void gw_response_store_release(gw_response_store *s, gw_response_hold *h)
{
    pthread_mutex_lock(&s->mu);
    for (gw_response_hold **p = &s->holds; *p; p = &(*p)->next)
        if (*p == h) {
            *p = h->next;
            break;
        }
    pthread_cond_broadcast(&s->released);
    pthread_mutex_unlock(&s->mu);
}

/* Lock the store once id is held by nobody. */
static void lock_unheld(gw_response_store *s, const char *id)
{
    pthread_mutex_lock(&s->mu);
    for (;;) {
        gw_response_hold *h = s->holds;
        while (h && strcmp(h->id, id) != 0) h = h->next;
        if (!h) return;
        pthread_cond_wait(&s->released, &s->mu);
    }
}

static void retain(gw_response_store *s)
{
    time_t now = time(NULL);
    if (s->max_age_s > 0 && now != s->expired_at) {
        s->expired_at = now;
        delete_rows(s, ST_EXPIRE, (int64_t)now - s->max_age_s);
    }
    if (s->max_count > 0 && s->rows > s->max_count) delete_rows(s, ST_TRIM, s->rows - s->max_count);
}

int gw_response_store_put(gw_response_store *s, const char *id, int64_t created_at,
                          const char *response, const json_t *input_items,
                          const json_t *context)
{
    const char *r = response;
    char *i = gw_json_dumps(input_items), *c = gw_json_dumps(context);
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    if (r && i && c) {
        sqlite3_stmt *unset = stmt(s, ST_DELETE);
        sqlite3_bind_text(unset, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(unset) == SQLITE_DONE) {
            s->rows -= sqlite3_changes(s->db);
            sqlite3_stmt *st = stmt(s, ST_INSERT);
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, created_at);
            sqlite3_bind_text(st, 3, r, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, i, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 5, c, -1, SQLITE_STATIC);
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
            sqlite3_reset(st); /* the bound texts are freed below */
            if (rc == 0) s->rows++;
        }
    }
    if (rc == 0) retain(s);
    pthread_mutex_unlock(&s->mu);
    free(i);
    free(c);
    return rc;
}

static json_t *column_json(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    return t ? json_loads(t, 0, NULL) : NULL;
}

int gw_response_store_get(gw_response_store *s, const char *id, gw_stored_response *out)
{
    memset(out, 0, sizeof *out);
    int rc = -1;
    lock_unheld(s, id);
    sqlite3_stmt *st = stmt(s, ST_GET);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, s->max_age_s > 0 ? (int64_t)time(NULL) - s->max_age_s : INT64_MIN);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        out->response = column_json(st, 0);
        out->input_items = column_json(st, 1);
        out->context = column_json(st, 2);
        rc = out->response && out->input_items && out->context ? 1 : -1;
        if (rc < 0) gw_stored_response_clear(out);
    } else if (step == SQLITE_DONE) {
        rc = 0;
    }
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int gw_response_store_delete(gw_response_store *s, const char *id)
{
    int rc = -1;
    lock_unheld(s, id);
    sqlite3_stmt *st = stmt(s, ST_DELETE);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_DONE) {
        rc = sqlite3_changes(s->db) > 0;
        s->rows -= rc;
    }
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void gw_stored_response_clear(gw_stored_response *r)
{
    json_decref(r->response);
    json_decref(r->input_items);
    json_decref(r->context);
    memset(r, 0, sizeof *r);
}
