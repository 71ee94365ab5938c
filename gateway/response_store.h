/*
 * response_store.h - where the Responses API keeps stored responses: a small
 * interface (open, put, get, delete, close) so that a server database can
 * replace the embedded default (SQLite, response_store_sqlite.c) behind it.
 *
 * A stored response is three JSON documents under its id: the Response object
 * as returned, the input items of its request (GET .../input_items), and its
 * context: every item the conversation holds after it (the previous
 * response's context, this input, this output), which previous_response_id
 * continues. Retention: at most max_count responses, none older than
 * max_age_s (0 = no limit); put() enforces both. Every call is thread-safe.
 *
 * A hold lets the gateway answer before the write: gw_response_store_hold(id)
 * (cheap: no I/O) before the client learns the id, then put(), then release;
 * meanwhile a get() or delete() of that id waits for the release, so a client
 * that continues the response at once still finds it.
 */
#ifndef GW_RESPONSE_STORE_H
#define GW_RESPONSE_STORE_H
#include <jansson.h>
#include <stdint.h>

typedef struct gw_response_store gw_response_store;

typedef struct gw_stored_response {
    json_t *response;    /* the Response object */
    json_t *input_items; /* array */
    json_t *context;     /* array */
} gw_stored_response;

/* Open the store at path (a SQLite file, or ":memory:"); NULL and err on failure. */
gw_response_store *gw_response_store_open(const char *path, long max_count, long max_age_s,
                                          char *err, size_t errlen);
void gw_response_store_close(gw_response_store *s);
/* Keep (or replace) response id created at created_at (Unix seconds), the response
 * given as its JSON text (the one answered; NULL fails); 0 or -1. */
int gw_response_store_put(gw_response_store *s, const char *id, int64_t created_at,
                          const char *response, const json_t *input_items,
                          const json_t *context);
/* A hold of one id (caller-owned, e.g. on the stack; linked into the store). */
typedef struct gw_response_hold {
    const char *id;
    struct gw_response_hold *next;
} gw_response_hold;
/* get() and delete() of id wait until the hold is released. */
void gw_response_store_hold(gw_response_store *s, gw_response_hold *h, const char *id);
void gw_response_store_release(gw_response_store *s, gw_response_hold *h);
/* 1 and *out filled (the caller frees it with gw_stored_response_clear), 0 when there
 * is no such response (or it expired), -1 on error. */
int gw_response_store_get(gw_response_store *s, const char *id, gw_stored_response *out);
/* 1 deleted, 0 not there, -1 error. */
int gw_response_store_delete(gw_response_store *s, const char *id);
void gw_stored_response_clear(gw_stored_response *r);
#endif
