/*
 * test_http_rpc_ws.c - the RPC helpers (codes by name, unary and streaming
 * calls, method handles) and the WebSocket helpers (connections and
 * messages by type), read back through the registry and the exposition.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sonde/sonde.h"

static double rpc_count(sonde_registry *reg, const char *method, const char *code)
{
    const char *v[] = {method, code};
    return sonde_counter_value(sonde_counter_with(sonde_registry_find(reg, "rpc_requests_total"), v));
}

TEST(codes)
{
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED"};
    for (int i = 0; i < SONDE_RPC_CODE_COUNT; i++) {
        CHECK_EQ_STR(sonde_rpc_code_name(i), names[i]);
        CHECK_EQ_INT(sonde_rpc_code_parse(names[i]), i);
    }
    CHECK_EQ_INT(SONDE_RPC_UNAVAILABLE, 14);
    CHECK_EQ_INT(SONDE_RPC_UNAUTHENTICATED, 16);
    CHECK_EQ_INT(sonde_rpc_code_parse("unavailable"), SONDE_RPC_UNAVAILABLE);
    CHECK_EQ_INT(sonde_rpc_code_parse("NOPE"), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_rpc_code_parse(NULL), SONDE_EINVAL);
    CHECK_EQ_STR(sonde_rpc_code_name(17), "UNKNOWN");
    CHECK_EQ_STR(sonde_rpc_code_name(-1), "UNKNOWN");
}

TEST(calls)
{
    sonde_registry *reg;
    sonde_registry_new(NULL, &reg);
    sonde_rpc_opts o = {reg, NULL, {NULL, 0}};
    sonde_rpc *r;
    CHECK_EQ_INT(sonde_rpc_new(&o, &r), SONDE_OK);
    sonde_rpc_method *get = sonde_rpc_method_get(r, "items.v1.Items/Get");
    sonde_rpc_method *watch = sonde_rpc_method_get(r, "items.v1.Items/Watch");
    CHECK(get && watch && get != watch);
    CHECK(sonde_rpc_method_get(r, "items.v1.Items/Get") == get); /* cached */
    CHECK(sonde_rpc_method_get(r, "bad\xff") == NULL);
    /* unary */
    for (int i = 0; i < 3; i++) {
        sonde_rpc_call c = sonde_rpc_begin(get);
        sonde_rpc_end(&c, SONDE_RPC_OK);
        sonde_rpc_end(&c, SONDE_RPC_INTERNAL); /* second end: no-op */
    }
    sonde_rpc_observe(get, SONDE_RPC_NOT_FOUND, 0.25);
    sonde_rpc_observe(get, 99, 0.5); /* out of range: UNKNOWN */
    /* streaming: one record when the stream ends */
    sonde_rpc_call s = sonde_rpc_begin(watch);
    sonde_rpc_end(&s, SONDE_RPC_UNAVAILABLE);
    CHECK_EQ_DBL(rpc_count(reg, "items.v1.Items/Get", "OK"), 3);
    CHECK_EQ_DBL(rpc_count(reg, "items.v1.Items/Get", "NOT_FOUND"), 1);
    CHECK_EQ_DBL(rpc_count(reg, "items.v1.Items/Get", "UNKNOWN"), 1);
    CHECK_EQ_DBL(rpc_count(reg, "items.v1.Items/Get", "INTERNAL"), 0);
    CHECK_EQ_DBL(rpc_count(reg, "items.v1.Items/Watch", "UNAVAILABLE"), 1);
    const char *v[] = {"items.v1.Items/Get"};
    uint64_t count;
    double sum;
    sonde_histogram_read(
        sonde_histogram_with(sonde_registry_find(reg, "rpc_request_duration_seconds"), v), &count,
        &sum, NULL);
    CHECK_EQ_INT(count, 5);
    CHECK(sum >= 0.75);
    /* NULL handles */
    sonde_rpc_call n = sonde_rpc_begin(NULL);
    sonde_rpc_end(&n, 0);
    sonde_rpc_end(NULL, 0);
    sonde_rpc_observe(NULL, 0, 1);
    CHECK(sonde_rpc_method_get(NULL, "x") == NULL);
    sonde_rpc_free(r);
    /* a second sonde_rpc shares the families; a prefix makes new ones */
    CHECK_EQ_INT(sonde_rpc_new(&o, &r), SONDE_OK);
    sonde_rpc_observe(sonde_rpc_method_get(r, "items.v1.Items/Get"), 0, 0.1);
    CHECK_EQ_DBL(rpc_count(reg, "items.v1.Items/Get", "OK"), 4);
    sonde_rpc_free(r);
    o.prefix = "svc";
    CHECK_EQ_INT(sonde_rpc_new(&o, &r), SONDE_OK);
    CHECK(sonde_registry_find(reg, "svc_rpc_requests_total") != NULL);
    sonde_rpc_free(r);
    sonde_rpc_free(NULL);
    sonde_registry_free(reg);
}

TEST(websocket)
{
    sonde_registry *reg;
    sonde_registry_new(NULL, &reg);
    sonde_ws *w;
    CHECK_EQ_INT(sonde_ws_new(reg, NULL, &w), SONDE_OK);
    sonde_ws_open(w);
    sonde_ws_open(w);
    sonde_ws_close(w);
    for (int i = 0; i < 4; i++)
        sonde_ws_received(w, SONDE_WS_TEXT);
    sonde_ws_received(w, SONDE_WS_PING);
    sonde_ws_sent(w, SONDE_WS_PONG);
    sonde_ws_sent(w, SONDE_WS_BINARY);
    sonde_ws_sent(w, SONDE_WS_BINARY);
    sonde_ws_sent(w, (sonde_ws_type)42); /* ignored */
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    CHECK_CONTAINS(text, "websocket_connections_total 2\n");
    CHECK_CONTAINS(text, "websocket_connections_active 1\n");
    CHECK_CONTAINS(text, "websocket_messages_received_total{type=\"text\"} 4\n");
    CHECK_CONTAINS(text, "websocket_messages_received_total{type=\"ping\"} 1\n");
    CHECK_CONTAINS(text, "websocket_messages_sent_total{type=\"pong\"} 1\n");
    CHECK_CONTAINS(text, "websocket_messages_sent_total{type=\"binary\"} 2\n");
    CHECK_CONTAINS(text, "websocket_messages_sent_total{type=\"close\"} 0\n");
    free(text);
    sonde_ws_free(w);
    sonde_ws_open(NULL);
    sonde_ws_close(NULL);
    sonde_ws_received(NULL, SONDE_WS_TEXT);
    sonde_ws_sent(NULL, SONDE_WS_TEXT);
    CHECK_EQ_INT(sonde_ws_new(reg, "bad prefix", &w), SONDE_ENAME);
    CHECK_EQ_INT(sonde_ws_new(reg, NULL, NULL), SONDE_EINVAL);
    sonde_registry_free(reg);
}

int main(void)
{
    RUN(codes);
    RUN(calls);
    RUN(websocket);
    return check_report();
}
