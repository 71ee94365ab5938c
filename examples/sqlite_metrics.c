/*
 * sqlite_metrics.c - the storage helpers (sonde/store.h) around real SQLite
 * calls: every statement is timed with sonde_db_begin/end under its
 * (operation, table), a user lookup goes through a small cache that counts
 * hits and misses, and the one connection is reported as a pool of one.
 * Then the exposition is printed.
 *
 *   build/examples/sqlite-metrics [--openmetrics] [DATABASE]   (default: in memory)
 *
 * The workload is fixed so that tests/integration/test_sqlite_example.sh can
 * check every number: two tables created; five users and three orders
 * inserted, then a sixth user with a taken id (a real constraint failure:
 * status "error"); three distinct users looked up six times through the
 * cache (three misses that query, three hits that do not); a select of a
 * column that does not exist (SQLite refuses to prepare it: "error"); a sum
 * of the orders; two updates, one delete. A lookup under an operation the
 * host never registered ("drop") is refused and counted, not recorded.
 */
#include <sonde/sonde.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const operations[] = {"create", "insert", "select", "update", "delete"};
static const char *const tables[] = {"users", "orders"};
static const char *const caches[] = {"users_by_id"};

/* The outcome of a statement as the status label counts it. */
static int status_of(int rc)
{
    switch (rc) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW: return SONDE_STORE_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return SONDE_STORE_TIMEOUT;
    case SQLITE_INTERRUPT: return SONDE_STORE_CANCELLED;
    default: return SONDE_STORE_ERROR;
    }
}

/* Run one statement (binding one optional integer) and step it to the end; the whole call,
 * prepare included, is the query's duration. *out gets the first column of the last row. */
static int run(sqlite3 *db, sonde_db_query *q, const char *sql, long long arg, int has_arg,
               long long *out)
{
    sonde_db_call call = sonde_db_begin(q);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && has_arg)
        rc = sqlite3_bind_int64(st, 1, arg);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && out)
            *out = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sonde_db_end(&call, status_of(rc));
    if (rc != SQLITE_DONE)
        fprintf(stderr, "sqlite: %s: %s\n", sql, sqlite3_errmsg(db));
    return rc == SQLITE_DONE ? 0 : -1;
}

/* A tiny cache of user names by id in front of the database. */
typedef struct user_cache {
    long long ids[8];
    size_t count;
    sonde_cache *metrics;
} user_cache;

static void lookup_user(sqlite3 *db, sonde_db_query *select_users, user_cache *c, long long id)
{
    for (size_t i = 0; i < c->count; i++)
        if (c->ids[i] == id) {
            sonde_cache_hit(c->metrics);
            return;
        }
    sonde_cache_miss(c->metrics);
    long long found = -1;
    if (run(db, select_users, "SELECT id FROM users WHERE id = ?1", id, 1, &found) == 0 &&
        found == id && c->count < sizeof c->ids / sizeof c->ids[0])
        c->ids[c->count++] = id;
    sonde_cache_size_set(c->metrics, (int64_t)c->count, (int64_t)(c->count * sizeof(long long)));
}

int main(int argc, char **argv)
{
    sonde_format format = SONDE_FORMAT_TEXT;
    const char *path = ":memory:";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--openmetrics"))
            format = SONDE_FORMAT_OPENMETRICS;
        else
            path = argv[i];
    }
    sonde_registry *reg;
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    if (sonde_registry_new(&cfg, &reg) != SONDE_OK)
        return 1;
    sonde_store_opts o = {.registry = reg,
                          .operations = operations,
                          .operation_count = sizeof operations / sizeof operations[0],
                          .tables = tables,
                          .table_count = sizeof tables / sizeof tables[0],
                          .caches = caches,
                          .cache_count = 1};
    sonde_store *store;
    int rc = sonde_store_new(&o, &store);
    if (rc) {
        fprintf(stderr, "sonde_store_new: %s\n", sonde_strerror(rc));
        return 1;
    }
    /* handles once, at start; the statements below only use them */
    sonde_db_query *create_users, *create_orders, *insert_users, *insert_orders, *select_users,
        *select_orders, *update_users, *delete_orders, *dropped;
    sonde_store_query(store, "create", "users", &create_users);
    sonde_store_query(store, "create", "orders", &create_orders);
    sonde_store_query(store, "insert", "users", &insert_users);
    sonde_store_query(store, "insert", "orders", &insert_orders);
    sonde_store_query(store, "select", "users", &select_users);
    sonde_store_query(store, "select", "orders", &select_orders);
    sonde_store_query(store, "update", "users", &update_users);
    sonde_store_query(store, "delete", "orders", &delete_orders);
    rc = sonde_store_query(store, "drop", "users", &dropped);
    fprintf(stderr, "lookup drop/users: %s\n", sonde_strerror(rc));
    user_cache cache = {.count = 0};
    sonde_store_cache(store, "users_by_id", &cache.metrics);

    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite: cannot open %s\n", path);
        return 1;
    }
    sonde_store_connections_set(store, 0, 1, 1); /* one connection, in use */
    run(db, create_users, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)", 0, 0, NULL);
    run(db, create_orders, "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, "
                           "amount INTEGER)", 0, 0, NULL);
    for (long long id = 1; id <= 5; id++)
        run(db, insert_users, "INSERT INTO users (id, name) VALUES (?1, 'user')", id, 1, NULL);
    for (long long id = 1; id <= 3; id++)
        run(db, insert_orders, "INSERT INTO orders (user_id, amount) VALUES (?1, 10 * ?1)", id, 1,
            NULL);
    /* a real failure: the id is taken */
    run(db, insert_users, "INSERT INTO users (id, name) VALUES (?1, 'again')", 3, 1, NULL);
    static const long long lookups[] = {1, 2, 1, 3, 2, 1};
    for (size_t i = 0; i < sizeof lookups / sizeof lookups[0]; i++)
        lookup_user(db, select_users, &cache, lookups[i]);
    /* another: no such column */
    run(db, select_orders, "SELECT total FROM orders", 0, 0, NULL);
    long long sum = 0;
    run(db, select_orders, "SELECT SUM(amount) FROM orders", 0, 0, &sum);
    fprintf(stderr, "orders total: %lld\n", sum);
    run(db, update_users, "UPDATE users SET name = 'renamed' WHERE id = ?1", 1, 1, NULL);
    run(db, update_users, "UPDATE users SET name = 'renamed' WHERE id = ?1", 2, 1, NULL);
    run(db, delete_orders, "DELETE FROM orders WHERE id = ?1", 1, 1, NULL);
    sqlite3_close(db);
    sonde_store_connections_set(store, 0, 0, -1); /* closed: none in use, max as it was */

    char *text = sonde_expose_alloc(reg, format, NULL);
    if (text)
        fputs(text, stdout);
    free(text);
    sonde_store_free(store);
    sonde_registry_free(reg);
    return text ? 0 : 1;
}
