/*
 * websocket.c - WebSocket connection and message counts.
 *
 * All children are created up front (one per message type and direction),
 * so every call is a single counter or gauge update. The gauge of open
 * connections is websocket_connections_active: "websocket_connections" is
 * the family name of the counter websocket_connections_total (OpenMetrics
 * names a counter family without its _total), so a gauge cannot take it.
 */
#include <stdlib.h>

#include "http_internal.h"

struct sonde_ws {
    sonde_counter *opened;
    sonde_gauge *open;
    sonde_counter *received[SONDE_WS_TYPE_COUNT], *sent[SONDE_WS_TYPE_COUNT];
};

static const char *const type_names[SONDE_WS_TYPE_COUNT] = {"text", "binary", "ping", "pong",
                                                            "close"};

int sonde_ws_new(sonde_registry *reg, const char *prefix, sonde_ws **out)
{
    if (!out)
        return SONDE_EINVAL;
    *out = NULL;
    if (!reg)
        reg = sonde_default_registry();
    sonde_ws *w = calloc(1, sizeof *w);
    if (!w)
        return SONDE_ENOMEM;
    static const char *const type[] = {"type"};
    sonde_metric *opened, *open, *rx, *tx;
    int rc = sonde_internal_family_shared(reg, prefix, SONDE_COUNTER, "websocket_connections_total",
                                          "WebSocket connections opened.", NULL, 0,
                                          (sonde_buckets){0}, &opened);
    if (!rc)
        rc = sonde_internal_family_shared(reg, prefix, SONDE_GAUGE, "websocket_connections_active",
                                          "WebSocket connections open now.", NULL, 0,
                                          (sonde_buckets){0}, &open);
    if (!rc)
        rc = sonde_internal_family_shared(
            reg, prefix, SONDE_COUNTER, "websocket_messages_received_total",
            "WebSocket messages received by type.", type, 1, (sonde_buckets){0}, &rx);
    if (!rc)
        rc = sonde_internal_family_shared(
            reg, prefix, SONDE_COUNTER, "websocket_messages_sent_total",
            "WebSocket messages sent by type.", type, 1, (sonde_buckets){0}, &tx);
    if (rc) {
        free(w);
        return rc;
    }
    w->opened = sonde_counter_of(opened);
    w->open = sonde_gauge_of(open);
    for (int i = 0; i < SONDE_WS_TYPE_COUNT; i++) {
        const char *v[1] = {type_names[i]};
        w->received[i] = sonde_counter_with(rx, v);
        w->sent[i] = sonde_counter_with(tx, v);
    }
    *out = w;
    return SONDE_OK;
}

void sonde_ws_free(sonde_ws *w)
{
    free(w);
}

void sonde_ws_open(sonde_ws *w)
{
    if (!w)
        return;
    sonde_counter_inc(w->opened);
    sonde_gauge_inc(w->open);
}

void sonde_ws_close(sonde_ws *w)
{
    if (w)
        sonde_gauge_dec(w->open);
}

void sonde_ws_received(sonde_ws *w, sonde_ws_type type)
{
    if (w && (unsigned)type < SONDE_WS_TYPE_COUNT)
        sonde_counter_inc(w->received[type]);
}

void sonde_ws_sent(sonde_ws *w, sonde_ws_type type)
{
    if (w && (unsigned)type < SONDE_WS_TYPE_COUNT)
        sonde_counter_inc(w->sent[type]);
}
