/*
 * test_api_null.c - the NULL conventions of sonde/sonde.h, function by
 * function, for every public function of every header (test_symbols.sh
 * checks that each SONDE_API function is named here).
 *
 *   - A NULL instrument (family, series, collector, or module: sonde_http,
 *     sonde_http_mhd, sonde_rpc, sonde_rpc_method, sonde_ws, sonde_llm, sonde_store,
 *     sonde_db_query, sonde_cache, sonde_queue) is a
 *     no-op: SONDE_OK where a code is returned, zero values from reads, inert
 *     tokens, NULL from lookups; freeing it does nothing.
 *   - Any other NULL that a function needs (registry, server, price table,
 *     emitter, config, request, name, out) is SONDE_EINVAL, or 0 / NULL / ""
 *     for functions without a code; free, stop and cleanup accept NULL.
 *
 * Run under ASan+UBSan by `make test`, so a call that would crash on NULL
 * fails here. Each group also shows that the no-op left the registry as it
 * was (nothing registered, nothing exposed).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "registry_fixture.h"
#include "sonde/alert.h"
#include "sonde/http_mhd.h"
#include "sonde/otlp.h"
#include "sonde/push.h"
#include "sonde/sonde.h"

/* The registry's text exposition, "" when empty. */
static int exposes_nothing(sonde_registry *r)
{
    char *t = sonde_expose_alloc(r, SONDE_FORMAT_TEXT, NULL);
    int empty = t && t[0] == '\0';
    free(t);
    return empty;
}

static int emit_nothing(sonde_emitter *e, void *ud)
{
    (void)e;
    (void)ud;
    return 0;
}

TEST(null_series_are_noops)
{
    sonde_counter_inc(NULL);
    CHECK_EQ_INT(sonde_counter_add(NULL, 1), SONDE_OK);
    CHECK_EQ_INT(sonde_counter_add(NULL, -1), SONDE_OK);
    CHECK_EQ_DBL(sonde_counter_value(NULL), 0);
    sonde_gauge_set(NULL, 1);
    sonde_gauge_inc(NULL);
    sonde_gauge_dec(NULL);
    sonde_gauge_add(NULL, 1);
    sonde_gauge_sub(NULL, 1);
    sonde_gauge_set_to_current_time(NULL);
    CHECK_EQ_DBL(sonde_gauge_value(NULL), 0);
    sonde_histogram_observe(NULL, 1);
    sonde_histogram_observe_n(NULL, 1, 5);
    sonde_span_context sampled = {.trace_id = {1}, .span_id = {2}, .flags = SONDE_TRACE_FLAG_SAMPLED};
    sonde_histogram_observe_exemplar(NULL, 1, &sampled);
    sonde_histogram_observe_exemplar(NULL, 1, NULL);
    CHECK_EQ_INT(sonde_counter_add_exemplar(NULL, 1, &sampled), SONDE_OK);
    CHECK_EQ_INT(sonde_counter_add_exemplar(NULL, -1, NULL), SONDE_OK);
    uint64_t n = 7, counts[2] = {7, 7};
    double sum = 7;
    sonde_histogram_read(NULL, &n, &sum, counts);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_DBL(sum, 0);
    CHECK_EQ_INT(counts[0], 7); /* a NULL series has no buckets to write */
    sonde_histogram_read(NULL, NULL, NULL, NULL);
    sonde_summary_observe(NULL, 1);
    CHECK(isnan(sonde_summary_quantile(NULL, 0.5)));
    n = 7, sum = 7;
    sonde_summary_read(NULL, &n, &sum);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_DBL(sum, 0);
    sonde_summary_read(NULL, NULL, NULL);
    CHECK_EQ_INT(sonde_stateset_set(NULL, "a"), SONDE_OK);
    CHECK_EQ_INT(sonde_stateset_set(NULL, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_stateset_set_state(NULL, "a", 1), SONDE_OK);
    sonde_timer t = sonde_timer_histogram(NULL);
    CHECK(sonde_timer_stop(&t) >= 0);
    t = sonde_timer_summary(NULL);
    CHECK(sonde_timer_stop(&t) >= 0);
    CHECK_EQ_DBL(sonde_timer_stop(NULL), 0);
}

TEST(null_families_are_noops)
{
    void *child = &child;
    CHECK_EQ_INT(sonde_metric_child(NULL, NULL, &child), SONDE_OK);
    CHECK(child == NULL);
    CHECK_EQ_INT(sonde_metric_child(NULL, NULL, NULL), SONDE_EINVAL); /* out is required */
    CHECK(sonde_counter_with(NULL, NULL) == NULL);
    CHECK(sonde_gauge_with(NULL, NULL) == NULL);
    CHECK(sonde_histogram_with(NULL, NULL) == NULL);
    CHECK(sonde_summary_with(NULL, NULL) == NULL);
    CHECK(sonde_stateset_with(NULL, NULL) == NULL);
    CHECK(sonde_counter_of(NULL) == NULL);
    CHECK(sonde_gauge_of(NULL) == NULL);
    CHECK(sonde_histogram_of(NULL) == NULL);
    CHECK(sonde_summary_of(NULL) == NULL);
    CHECK_EQ_INT(sonde_metric_remove(NULL, (const char *[]){"x"}), SONDE_OK);
    sonde_metric_clear(NULL);
    CHECK_EQ_INT(sonde_unregister(NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_info_set(NULL, (const char *[]){"x"}), SONDE_OK);
    CHECK_EQ_INT(sonde_metric_type(NULL), SONDE_UNTYPED);
    CHECK_EQ_STR(sonde_type_name(sonde_metric_type(NULL)), "unknown");
    CHECK_EQ_STR(sonde_type_name((sonde_type)-1), "unknown");
    CHECK_EQ_STR(sonde_type_name(SONDE_STATESET), "stateset");
    CHECK(sonde_metric_name(NULL) == NULL);
    CHECK(sonde_metric_help(NULL) == NULL);
    CHECK(sonde_metric_unit(NULL) == NULL);
    CHECK(sonde_metric_label_name(NULL, 0) == NULL);
    CHECK_EQ_INT(sonde_metric_label_count(NULL), 0);
    CHECK_EQ_INT(sonde_metric_child_count(NULL), 0);
    sonde_buckets b = sonde_metric_buckets(NULL);
    CHECK(b.bounds == NULL && b.count == 0);
}

/* What a disabled registry hands out is exactly such NULL handles, and using them works. */
TEST(disabled_registry_hands_out_null_instruments)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.enabled = 0;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &r), SONDE_OK);
    sonde_counter *c = (sonde_counter *)&c;
    CHECK_EQ_INT(sonde_counter_new(r, "c_total", NULL, &c), SONDE_OK);
    CHECK(c == NULL);
    sonde_collector *col = (sonde_collector *)&col;
    CHECK_EQ_INT(sonde_collector_add(r, "x", emit_nothing, NULL, &col), SONDE_OK);
    CHECK(col == NULL);
    CHECK_EQ_INT(sonde_collector_remove(r, col), SONDE_OK);
    CHECK_EQ_INT(sonde_collector_add(r, "x", NULL, NULL, &col), SONDE_EINVAL); /* fn is required */
    CHECK_EQ_INT(sonde_counter_add(c, 2), SONDE_OK);
    sonde_metric *m = (sonde_metric *)&m;
    sonde_metric_opts o = {.type = SONDE_GAUGE, .name = "g"};
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    CHECK(m == NULL);
    CHECK_EQ_INT(sonde_metric_remove(m, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_unregister(m), SONDE_OK);
    sonde_registry_free(r);
}

TEST(registry_and_exposition_need_a_registry)
{
    sonde_metric *m = (sonde_metric *)&m;
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "x_total"};
    CHECK_EQ_INT(sonde_registry_new(NULL, NULL), SONDE_EINVAL);
    sonde_registry_free(NULL);
    CHECK_EQ_INT(sonde_registry_enabled(NULL), 0);
    CHECK(sonde_registry_config(NULL) == NULL);
    CHECK_EQ_INT(sonde_register(NULL, &o, &m), SONDE_EINVAL);
    CHECK(m == NULL);
    sonde_counter *c = (sonde_counter *)&c;
    sonde_gauge *g = (sonde_gauge *)&g;
    sonde_histogram *h = (sonde_histogram *)&h;
    CHECK_EQ_INT(sonde_counter_new(NULL, "x", NULL, &c), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_gauge_new(NULL, "x", NULL, &g), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_histogram_new(NULL, "x", NULL, SONDE_BUCKETS_DEFAULT, &h), SONDE_EINVAL);
    CHECK(c == NULL && g == NULL && h == NULL);
    m = (sonde_metric *)&m;
    CHECK_EQ_INT(sonde_register_func(NULL, &o, NULL, NULL, &m), SONDE_EINVAL);
    CHECK(sonde_registry_find(NULL, "x") == NULL);
    CHECK_EQ_INT(sonde_registry_foreach(NULL, NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_collector_add(NULL, "x", NULL, NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_collector_remove(NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_inc(NULL, "x", NULL, 0), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_add(NULL, "x", NULL, 0, 1), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_set(NULL, "x", NULL, 0, 1), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_observe(NULL, "x", NULL, 0, 1), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_add_exemplar(NULL, "x", NULL, 0, 1, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_observe_exemplar(NULL, "x", NULL, 0, 1, NULL), SONDE_EINVAL);
    sonde_timer t;
    CHECK_EQ_INT(sonde_timer_start(NULL, "x", NULL, 0, &t), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_expose(NULL, SONDE_FORMAT_TEXT, NULL, NULL), SONDE_EINVAL);
    size_t len = 0;
    char buf[8];
    CHECK_EQ_INT(sonde_expose_buffer(NULL, SONDE_FORMAT_TEXT, buf, sizeof buf, &len), SONDE_EINVAL);
    CHECK(sonde_expose_alloc(NULL, SONDE_FORMAT_TEXT, &len) == NULL);
    CHECK_EQ_INT(sonde_emit_family(NULL, "x", NULL, SONDE_GAUGE, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_emit_sample(NULL, NULL, NULL, 0, 1), SONDE_EINVAL);
}

TEST(other_null_arguments_are_einval)
{
    sonde_registry *r = new_reg();
    sonde_metric *m = (sonde_metric *)&m;
    CHECK_EQ_INT(sonde_register(r, NULL, &m), SONDE_EINVAL);
    CHECK(m == NULL);
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "x_total"};
    CHECK_EQ_INT(sonde_register(r, &o, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_counter_new(r, "y_total", NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_gauge_new(r, "y", NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_histogram_new(r, "y", NULL, SONDE_BUCKETS_DEFAULT, NULL), SONDE_EINVAL);
    o.type = SONDE_GAUGE;
    CHECK_EQ_INT(sonde_register_func(r, &o, NULL, NULL, &m), SONDE_EINVAL);
    CHECK(sonde_registry_find(r, NULL) == NULL);
    CHECK_EQ_INT(sonde_registry_foreach(r, NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_inc(r, NULL, NULL, 0), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_timer_start(r, "x", NULL, 0, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_expose(r, SONDE_FORMAT_TEXT, NULL, NULL), SONDE_EINVAL);
    CHECK(exposes_nothing(r)); /* none of the above registered anything */

    static const char *const states[] = {"a", "b"};
    sonde_metric_opts so = {.type = SONDE_STATESET, .name = "st", .states = states, .state_count = 2};
    sonde_metric *st;
    CHECK_EQ_INT(sonde_register(r, &so, &st), SONDE_OK);
    CHECK_EQ_INT(sonde_stateset_set(sonde_stateset_with(st, NULL), NULL), SONDE_EINVAL);

    sonde_config_init(NULL);
    sonde_config_cleanup(NULL);
    char err[64] = "";
    CHECK_EQ_INT(sonde_config_from_env(NULL, err, sizeof err), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_config_validate(NULL, err, sizeof err), SONDE_EINVAL);
    CHECK(err[0] != '\0'); /* and says why */
    CHECK_EQ_INT(sonde_buckets_linear(0, 1, 2, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_buckets_exponential(1, 2, 2, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_format_double(1.5, NULL), 0);
    CHECK_EQ_INT(sonde_format_negotiate(NULL), SONDE_FORMAT_TEXT); /* documented: no header */
    CHECK(sonde_format_content_type(SONDE_FORMAT_TEXT) != NULL);
    CHECK(sonde_strerror(SONDE_EINVAL) != NULL);
    CHECK(sonde_version() != NULL);
    CHECK_EQ_INT(sonde_utf8_valid_prefix(NULL, 4), 0);
    CHECK(sonde_base64(NULL, 4) == NULL);
    CHECK_EQ_INT(sonde_secret_equal(NULL, 3, "abc", 3), 0);
    CHECK_EQ_INT(sonde_secret_equal("abc", 3, NULL, 3), 0);
    sonde_set_clock(NULL, NULL, NULL); /* NULL restores the system clocks */
    CHECK(sonde_now_ns() > 0);
    CHECK(sonde_wall_seconds() > 0);
    CHECK(sonde_default_registry() != NULL);
    CHECK_EQ_INT(sonde_init(NULL), SONDE_EBUSY); /* configured already: not about NULL */
    sonde_registry_free(r);
}

TEST(null_http_modules_are_noops)
{
    char buf[256];
    CHECK_EQ_INT(sonde_http_new(NULL, NULL), SONDE_EINVAL);
    sonde_http_free(NULL);
    CHECK_EQ_INT(sonde_http_route_add(NULL, "/x/{id}"), SONDE_OK);
    CHECK_EQ_INT(sonde_http_route(NULL, "/x", buf, sizeof buf), 0);
    sonde_http_token t = sonde_http_begin(NULL, "GET", "/x", 10);
    sonde_http_stream_begin(NULL, &t);
    sonde_http_stream_end(NULL, &t);
    sonde_http_end(NULL, &t, 200, 10);
    sonde_http_end(NULL, NULL, 200, 10);
    t = sonde_http_begin_traced(NULL, "GET", "/x", 10,
                                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", NULL);
    CHECK(sonde_http_span(&t) == NULL);
    sonde_http_end(NULL, &t, 200, 10);
    CHECK(sonde_http_span(NULL) == NULL);

    CHECK_EQ_INT(sonde_rpc_new(NULL, NULL), SONDE_EINVAL);
    sonde_rpc_free(NULL);
    CHECK(sonde_rpc_method_get(NULL, "pkg.S/M") == NULL);
    sonde_rpc_call call = sonde_rpc_begin(NULL);
    sonde_rpc_end(&call, SONDE_RPC_OK);
    sonde_rpc_end(NULL, SONDE_RPC_OK);
    sonde_rpc_observe(NULL, SONDE_RPC_OK, 0.1);
    CHECK_EQ_INT(sonde_rpc_code_parse(NULL), SONDE_EINVAL);
    CHECK_EQ_STR(sonde_rpc_code_name(-5), "UNKNOWN");

    CHECK_EQ_INT(sonde_ws_new(NULL, NULL, NULL), SONDE_EINVAL);
    sonde_ws_free(NULL);
    sonde_ws_open(NULL);
    sonde_ws_close(NULL);
    sonde_ws_received(NULL, SONDE_WS_TEXT);
    sonde_ws_sent(NULL, SONDE_WS_TEXT);

    sonde_http_mhd *a = (sonde_http_mhd *)&a;
    CHECK_EQ_INT(sonde_http_mhd_start(NULL, 0, 0, NULL, NULL, NULL, &a), SONDE_EINVAL); /* no dh */
    CHECK(a == NULL);
    CHECK(sonde_http_mhd_daemon(NULL) == NULL);
    char target[16] = "x";
    CHECK_EQ_INT(sonde_http_mhd_request_target(NULL, NULL, target, sizeof target), 0);
    CHECK_EQ_INT(sonde_http_mhd_request_target(NULL, "/a", NULL, 0), 0);
    CHECK_EQ_INT(sonde_http_mhd_request_target(NULL, "/console/", target, sizeof target), 9);
    CHECK_EQ_STR(target, "/console/");
    CHECK_EQ_INT(sonde_http_mhd_request_target(NULL, "/a/very/long/path/indeed", target, sizeof target), 0);
    CHECK_EQ_STR(target, "");
    sonde_http_mhd_stop(NULL);
    sonde_http_mhd_stream_begin(NULL, NULL);
    /* sonde_http_mhd_respond(NULL, c, ...) only queues on c: it needs a live connection,
     * covered by test_http_mhd. */

    /* With a real registry, the NULL modules above registered nothing. */
    sonde_registry *r = new_reg();
    CHECK_EQ_INT(sonde_http_route_add(NULL, "/y"), SONDE_OK);
    CHECK(exposes_nothing(r));
    sonde_registry_free(r);
}

TEST(server_needs_a_server)
{
    sonde_server *s = (sonde_server *)&s;
    char err[64];
    CHECK_EQ_INT(sonde_server_new(NULL, err, sizeof err, NULL), SONDE_EINVAL);
    sonde_server_opts_init(NULL);
    CHECK_EQ_INT(sonde_server_start(NULL), SONDE_EINVAL);
    sonde_server_stop(NULL);
    sonde_server_free(NULL);
    CHECK_EQ_INT(sonde_server_port(NULL), 0);
    CHECK_EQ_STR(sonde_server_errmsg(NULL), "");
    CHECK_EQ_INT(sonde_server_ready_add(NULL, "db", NULL, NULL), SONDE_EINVAL);
    sonde_server_response resp;
    memset(&resp, 0x55, sizeof resp);
    CHECK_EQ_INT(sonde_server_handle(NULL, NULL, &resp), SONDE_EINVAL);
    CHECK(resp.body == NULL && resp.status == 0); /* emptied */
    CHECK_EQ_INT(sonde_server_handle(NULL, NULL, NULL), SONDE_EINVAL);
    sonde_server_response_free(NULL);
    /* a real server with NULL request parts */
    sonde_registry *r = new_reg();
    sonde_server_opts o;
    sonde_server_opts_init(&o);
    o.registry = r;
    CHECK_EQ_INT(sonde_server_new(&o, NULL, 0, &s), SONDE_OK);
    sonde_server_request req = {.method = NULL, .path = "/metrics"};
    CHECK_EQ_INT(sonde_server_handle(s, &req, &resp), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_server_ready_add(s, NULL, NULL, NULL), SONDE_EINVAL);
    sonde_server_free(s);
    sonde_registry_free(r);
}

TEST(console_needs_a_console)
{
    sonde_console *c = (sonde_console *)&c;
    char err[64];
    sonde_console_opts_init(NULL);
    CHECK_EQ_INT(sonde_console_new(NULL, &c, err, sizeof err), SONDE_EINVAL);
    CHECK(c == NULL);
    sonde_console_opts o;
    sonde_console_opts_init(&o);
    CHECK_EQ_INT(sonde_console_new(&o, NULL, err, sizeof err), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_console_start(NULL), SONDE_EINVAL);
    sonde_console_free(NULL);
    sonde_server_response resp;
    memset(&resp, 0x55, sizeof resp);
    CHECK_EQ_INT(sonde_console_handle(NULL, NULL, &resp), SONDE_EINVAL);
    CHECK(resp.body == NULL && resp.status == 0); /* emptied */
    CHECK_EQ_INT(sonde_console_handle(NULL, NULL, NULL), SONDE_EINVAL);
    /* a real console with NULL request parts */
    sonde_registry *r = new_reg();
    o.registry = r;
    CHECK_EQ_INT(sonde_console_new(&o, &c, NULL, 0), SONDE_OK);
    sonde_server_request req = {.method = NULL, .path = "/console/api/status"};
    CHECK_EQ_INT(sonde_console_handle(c, &req, &resp), SONDE_EINVAL);
    req.method = "GET";
    req.path = NULL;
    CHECK_EQ_INT(sonde_console_handle(c, &req, &resp), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_console_handle(c, NULL, &resp), SONDE_EINVAL);
    sonde_console_free(c);
    sonde_registry_free(r);
}

TEST(null_llm_is_a_noop)
{
    sonde_llm_call call;
    sonde_llm_request rq = {.operation = "chat", .provider = "openai"};
    CHECK_EQ_INT(sonde_llm_call_begin(NULL, &call, &rq), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_begin(NULL, &call, NULL), SONDE_OK);
    sonde_llm_call_first_token(&call);
    sonde_llm_call_tokens(&call, 3);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK); /* inert */
    CHECK_EQ_INT(sonde_llm_tool_begin(NULL, &call, "t", NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_abandon(&call), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_agent_begin(NULL, &call, "a", NULL, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_pipeline_begin(NULL, &call, "p"), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK); /* inert */
    CHECK_EQ_INT(sonde_llm_pipeline_begin(NULL, NULL, "p"), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    sonde_llm_tool_request tq = {.name = "t"};
    sonde_llm_agent_request aq = {.name = "a"};
    CHECK_EQ_INT(sonde_llm_tool_begin_ex(NULL, &call, &tq), SONDE_OK);
    CHECK(sonde_llm_call_span(&call) == NULL); /* inert */
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_tool_begin_ex(NULL, &call, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_agent_begin_ex(NULL, &call, &aq), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_agent_begin_ex(NULL, &call, NULL), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK);
    CHECK(sonde_llm_call_span(NULL) == NULL);
    CHECK_EQ_INT(sonde_llm_tool_begin_ex(NULL, NULL, &tq), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_rate_limited(NULL, "rpm"), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_open_calls(NULL), 0);
    CHECK_EQ_INT(sonde_llm_free(NULL), 0);
    /* the call tracker is the caller's memory, not a handle: it must be given */
    CHECK_EQ_INT(sonde_llm_call_begin(NULL, NULL, &rq), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_call_end(NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_call_abandon(NULL), SONDE_EINVAL);
    sonde_llm_call_first_token(NULL);
    sonde_llm_call_tokens(NULL, 1);
    sonde_llm *llm = (sonde_llm *)&llm;
    CHECK_EQ_INT(sonde_llm_new(NULL, NULL, &llm), SONDE_EINVAL);
    CHECK(llm == NULL);
    /* with a live module: its required arguments */
    sonde_registry *r = new_reg();
    CHECK_EQ_INT(sonde_llm_new(r, NULL, &llm), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_call_begin(llm, &call, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK); /* left inert */
    CHECK_EQ_INT(sonde_llm_tool_begin_ex(llm, &call, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK); /* left inert */
    CHECK_EQ_INT(sonde_llm_agent_begin_ex(llm, &call, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_call_end(&call, NULL), SONDE_OK); /* left inert */
    CHECK(sonde_llm_call_span(&call) == NULL); /* no tracer */
    CHECK_EQ_INT(sonde_llm_rate_limited(llm, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_open_calls(llm), 0);
    sonde_llm_free(llm);
    sonde_registry_free(r);
    char out[32];
    CHECK_EQ_INT(sonde_llm_provider_normalize(NULL, out, sizeof out), SONDE_EINVAL);
}

TEST(null_store_and_handles_are_noops)
{
    CHECK_EQ_INT(sonde_store_new(NULL, NULL), SONDE_EINVAL);
    sonde_store *s = (sonde_store *)&s;
    CHECK_EQ_INT(sonde_store_new(NULL, &s), SONDE_EINVAL); /* opts are required */
    CHECK(s == NULL);
    sonde_store_free(NULL);
    sonde_db_query *q = (sonde_db_query *)&q;
    CHECK_EQ_INT(sonde_store_query(NULL, "select", "users", &q), SONDE_OK);
    CHECK(q == NULL);
    CHECK_EQ_INT(sonde_store_query(NULL, "select", "users", NULL), SONDE_EINVAL);
    sonde_cache *c = (sonde_cache *)&c;
    CHECK_EQ_INT(sonde_store_cache(NULL, "pages", &c), SONDE_OK);
    CHECK(c == NULL);
    CHECK_EQ_INT(sonde_store_cache(NULL, NULL, &c), SONDE_EINVAL);
    sonde_queue *wq = (sonde_queue *)&wq;
    CHECK_EQ_INT(sonde_store_queue(NULL, "email", &wq), SONDE_OK);
    CHECK(wq == NULL);
    CHECK_EQ_INT(sonde_store_queue(NULL, "email", NULL), SONDE_EINVAL);
    sonde_store_connections_set(NULL, 1, 2, 3);
    sonde_db_call call = sonde_db_begin(NULL);
    CHECK(call.query_ == NULL);
    sonde_db_end(&call, SONDE_STORE_OK);
    sonde_db_end(NULL, SONDE_STORE_OK);
    sonde_db_observe(NULL, SONDE_STORE_ERROR, 0.1);
    sonde_cache_hit(NULL);
    sonde_cache_miss(NULL);
    sonde_cache_evicted(NULL, 3);
    sonde_cache_size_set(NULL, 1, 2);
    sonde_queue_job job = sonde_queue_enqueue(NULL);
    CHECK(job.queue_ == NULL);
    sonde_queue_start(&job);
    sonde_queue_start(NULL);
    sonde_queue_end(&job, SONDE_STORE_OK);
    sonde_queue_end(NULL, SONDE_STORE_OK);
    sonde_queue_observe(NULL, SONDE_STORE_OK, 0.1);
    sonde_queue_depth_set(NULL, 4);
    CHECK_EQ_STR(sonde_store_status_name(-1), "error");
    /* a disabled registry: the store is made, its families and handles are no-ops */
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.enabled = 0;
    sonde_registry *r = NULL;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &r), SONDE_OK);
    static const char *const names[] = {"pages"};
    sonde_store_opts o = {.registry = r, .caches = names, .cache_count = 1};
    CHECK_EQ_INT(sonde_store_new(&o, &s), SONDE_OK);
    CHECK_EQ_INT(sonde_store_cache(s, "pages", &c), SONDE_OK);
    sonde_cache_hit(c);
    sonde_cache_size_set(c, 1, 2);
    sonde_store_free(s);
    CHECK(exposes_nothing(r));
    sonde_registry_free(r);
}

TEST(price_tables_need_a_table)
{
    double in = 7, out = 7;
    const char *cur = "x";
    char err[64];
    CHECK_EQ_INT(sonde_llm_prices_new(NULL), SONDE_EINVAL);
    sonde_llm_prices_free(NULL);
    CHECK_EQ_INT(sonde_llm_prices_add(NULL, "m", 1, 2, "USD"), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_prices_parse(NULL, "m 1 2 USD", err, sizeof err), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_prices_load(NULL, "/nonexistent", err, sizeof err), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_prices_count(NULL), 0);
    CHECK_EQ_INT(sonde_llm_prices_find(NULL, "m", &in, &out, &cur), SONDE_EINVAL);
    CHECK_EQ_DBL(in, 7); /* untouched */
    sonde_llm_prices *p;
    CHECK_EQ_INT(sonde_llm_prices_new(&p), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_prices_add(p, "m", 1, 2, "USD"), SONDE_OK);
    CHECK_EQ_INT(sonde_llm_prices_find(p, NULL, &in, &out, &cur), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_llm_prices_find(p, "m", NULL, NULL, NULL), SONDE_OK); /* outputs optional */
    CHECK_EQ_INT(sonde_llm_prices_find(p, "n", &in, &out, &cur), SONDE_ENOENT);
    sonde_llm_prices_free(p);
}

/* trace.h: a NULL tracer (OTEL_SDK_DISABLED) and a NULL span are no-op handles. */
TEST(null_tracer_and_span_are_noops)
{
    sonde_span_context ctx;
    sonde_span_summary sum[1];
    sonde_tracer_stats st;
    sonde_attr a;
    char tp[SONDE_TRACEPARENT_LEN + 1] = "x";
    uint8_t tid[16], sid[8];
    size_t da = 9, de = 9;
    const char *msg = NULL;
    CHECK(sonde_span_start(NULL, "x", SONDE_SPAN_INTERNAL, NULL) == NULL);
    CHECK_EQ_INT(sonde_tracer_flush(NULL, 0), SONDE_OK);
    sonde_tracer_free(NULL, 0);
    sonde_tracer_stats_get(NULL, &st);
    CHECK_EQ_INT(st.exported, 0);
    sonde_tracer_stats_get(NULL, NULL);
    CHECK_EQ_INT(sonde_tracer_recent(NULL, SONDE_RECENT_LATEST, sum, 1), 0);
    sonde_span_end(NULL);
    CHECK_EQ_INT(sonde_span_is_recording(NULL), 0);
    sonde_span_set_str(NULL, "k", "v");
    sonde_span_set_int(NULL, "k", 1);
    sonde_span_set_double(NULL, "k", 1);
    sonde_span_set_bool(NULL, "k", 1);
    sonde_span_set_attrs(NULL, &a, 1);
    sonde_span_add_event(NULL, "e", NULL, 0);
    sonde_span_set_status(NULL, SONDE_STATUS_ERROR, "m");
    sonde_span_set_name(NULL, "n");
    CHECK_EQ_INT(sonde_span_get_context(NULL, &ctx), SONDE_EINVAL);
    CHECK(!sonde_span_context_valid(&ctx));
    CHECK_EQ_INT(sonde_span_get_context(NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_span_traceparent(NULL, tp), SONDE_EINVAL);
    CHECK_EQ_STR(tp, "");
    CHECK_EQ_INT(sonde_span_traceparent(NULL, NULL), SONDE_EINVAL);
    CHECK(sonde_span_enter(NULL) == NULL);
    CHECK(sonde_span_current() == NULL);
    sonde_span_exit(NULL);
    CHECK_EQ_INT(sonde_trace_current_ids(tid, sid), 0);
    CHECK_EQ_STR(sonde_span_name(NULL), "");
    CHECK_EQ_INT(sonde_span_get_kind(NULL), 0);
    CHECK_EQ_INT(sonde_span_start_unix_ns(NULL), 0);
    CHECK_EQ_INT(sonde_span_end_unix_ns(NULL), 0);
    CHECK_EQ_INT(sonde_span_parent_id(NULL, sid), 0);
    CHECK_EQ_INT(sonde_span_status(NULL, &msg), SONDE_STATUS_UNSET);
    CHECK_EQ_STR(msg, "");
    CHECK_EQ_INT(sonde_span_attr_count(NULL), 0);
    CHECK_EQ_INT(sonde_span_attr(NULL, 0, &a), SONDE_ENOENT);
    CHECK_EQ_INT(sonde_span_attr(NULL, 0, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_span_event_count(NULL), 0);
    sonde_attr ea;
    CHECK_EQ_INT(sonde_span_event(NULL, 0, NULL, NULL, NULL), SONDE_ENOENT);
    CHECK_EQ_INT(sonde_span_event_attr(NULL, 0, 0, &ea), SONDE_ENOENT);
    CHECK_EQ_INT(sonde_span_event_attr(NULL, 0, 0, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_tracer_trace(NULL, tid, NULL, NULL), 0);
    sonde_span_dropped(NULL, &da, &de);
    CHECK(da == 0 && de == 0);
}

TEST(trace_functions_need_their_arguments)
{
    sonde_span_context ctx;
    char buf[SONDE_TRACEPARENT_LEN + 1];
    char *out = (char *)1;
    size_t len = 1;
    uint8_t id[16] = {1};
    CHECK_EQ_INT(sonde_traceparent_parse(NULL, NULL, &ctx), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_traceparent_parse("x", NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_traceparent_format(NULL, buf), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_traceparent_format(&ctx, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_span_context_valid(NULL), 0);
    sonde_trace_headers th;
    memset(&th, 'x', sizeof th);
    CHECK_EQ_INT(sonde_trace_headers_fill(NULL, &th), SONDE_EINVAL);
    CHECK_EQ_STR(th.traceparent, "");
    CHECK_EQ_STR(th.tracestate, "");
    CHECK_EQ_INT(sonde_trace_headers_fill(&ctx, NULL), SONDE_EINVAL);
    sonde_trace_id_hex(NULL, buf);
    sonde_span_id_hex(id, NULL);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_ALWAYS_ON, 1, NULL, NULL), 0);
    sonde_tracer_opts_init(NULL);
    CHECK_EQ_INT(sonde_tracer_new(NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_trace_encode_otlp(NULL, 1, &out, &len), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_trace_encode_otlp(NULL, 0, NULL, &len), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_trace_encode_otlp(NULL, 0, &out, &len), SONDE_OK); /* empty request */
    CHECK_EQ_INT(len, 0);
    free(out);
}

/* log.h: a NULL logger is a no-op handle. */
TEST(null_logger_is_a_noop)
{
    sonde_log_stats st;
    char *lines[1];
    char buf[8];
    lines[0] = buf;
    sonde_log_level lvl;
    char *out;
    size_t len;
    sonde_log(NULL, SONDE_LOG_ERROR, "m", NULL, 0);
    CHECK_EQ_INT(sonde_log_enabled(NULL, SONDE_LOG_ERROR), 0);
    CHECK_EQ_INT(sonde_log_recent(NULL, lines, sizeof buf, 1), 0);
    CHECK_EQ_INT(sonde_log_scan(NULL, 0, NULL, NULL), 0);
    sonde_logger_stats_get(NULL, &st);
    CHECK_EQ_INT(st.written, 0);
    sonde_logger_free(NULL, 0);
    sonde_logger_opts_init(NULL);
    CHECK_EQ_INT(sonde_logger_new(NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_STR(sonde_log_level_name((sonde_log_level)0), "");
    CHECK_EQ_INT(sonde_log_level_parse(NULL, &lvl), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_log_level_parse("info", NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_log_encode_otlp(NULL, 1, &out, &len), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_log_encode_otlp(NULL, 0, NULL, NULL), SONDE_EINVAL);
}

/* alert.h's webhook sender (libsonde-otlp): a URL is needed; the rest accepts NULL. */
TEST(alert_webhook_needs_a_url)
{
    sonde_alert_webhook_opts o;
    sonde_alert_webhook *w = (sonde_alert_webhook *)&o;
    sonde_alert_webhook_stats st = {1, 1, 1};
    sonde_alert_webhook_opts_init(NULL);
    CHECK_EQ_INT(sonde_alert_webhook_new(NULL, &w), SONDE_EINVAL);
    CHECK(w == NULL);
    CHECK_EQ_INT(sonde_alert_webhook_new(NULL, NULL), SONDE_EINVAL);
    sonde_alert_webhook_opts_init(&o);
    CHECK_EQ_INT(sonde_alert_webhook_new(&o, &w), SONDE_EINVAL); /* no url */
    o.url = "ftp://nowhere";
    CHECK_EQ_INT(sonde_alert_webhook_new(&o, &w), SONDE_EINVAL);
    sonde_alert_webhook_notify(NULL, NULL);
    CHECK_EQ_INT(sonde_alert_webhook_flush(NULL, 0), SONDE_EINVAL);
    sonde_alert_webhook_stats_get(NULL, &st);
    CHECK_EQ_INT(st.sent + st.failed + st.dropped, 0);
    sonde_alert_webhook_stats_get(NULL, NULL);
    sonde_alert_webhook_free(NULL);
}

/* otlp.h (libsonde-otlp): the transport is needed; free accepts NULL. */
TEST(otlp_needs_a_transport)
{
    sonde_span_exporter se;
    sonde_log_exporter le;
    sonde_otlp_stats st;
    size_t rejected = 7;
    sonde_otlp_opts_init(NULL);
    CHECK_EQ_INT(sonde_otlp_new(NULL, NULL), SONDE_EINVAL);
    sonde_otlp_free(NULL);
    CHECK_EQ_STR(sonde_otlp_endpoint(NULL, SONDE_OTLP_TRACES), "");
    CHECK_EQ_INT(sonde_otlp_send(NULL, SONDE_OTLP_TRACES, "x", 1, 0, &rejected), SONDE_EINVAL);
    CHECK_EQ_INT(rejected, 0);
    CHECK_EQ_INT(sonde_otlp_span_exporter(NULL, &se), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_otlp_log_exporter(NULL, &le), SONDE_EINVAL);
    sonde_otlp_stats_get(NULL, &st);
    CHECK_EQ_INT(st.requests, 0);
    sonde_otlp *o;
    sonde_otlp_opts opts;
    sonde_otlp_opts_init(&opts);
    opts.read_env = 0;
    opts.endpoint = "ftp://nowhere"; /* not http(s): refused */
    CHECK_EQ_INT(sonde_otlp_new(&opts, &o), SONDE_ECONFIG);
    CHECK(o == NULL);
    opts.endpoint = "http://127.0.0.1:4318";
    CHECK_EQ_INT(sonde_otlp_new(&opts, &o), SONDE_OK);
    CHECK_EQ_STR(sonde_otlp_endpoint(o, SONDE_OTLP_LOGS), "http://127.0.0.1:4318/v1/logs");
    CHECK_EQ_INT(sonde_otlp_span_exporter(o, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_otlp_send(o, SONDE_OTLP_TRACES, NULL, 1, 0, NULL), SONDE_EINVAL);
    sonde_otlp_free(o);
}

/* metric_reader.h and the OTLP metrics of otlp.h: a registry is needed; NULL frees are no-ops. */
TEST(metric_reader_needs_a_registry)
{
    sonde_metric_reader *r = (sonde_metric_reader *)1;
    sonde_metric_reader_stats st;
    sonde_metric_reader_opts ro;
    sonde_metric_reader_opts_init(NULL);
    sonde_metric_reader_opts_init(&ro);
    CHECK_EQ_INT(sonde_metric_reader_new(&ro, &r), SONDE_EINVAL); /* no registry */
    CHECK(r == NULL);
    CHECK_EQ_INT(sonde_metric_reader_new(NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_metric_reader_export(NULL, 0), SONDE_OK);
    char *out;
    size_t len;
    CHECK_EQ_INT(sonde_metric_reader_encode(NULL, &out, &len, NULL), SONDE_EINVAL);
    sonde_metric_reader_free(NULL, 0);
    sonde_metric_reader_stats_get(NULL, &st);
    CHECK_EQ_INT(st.exports, 0);
    sonde_metric_reader_stats_get(NULL, NULL);
    sonde_metric_exporter me;
    CHECK_EQ_INT(sonde_otlp_metric_exporter(NULL, &me), SONDE_EINVAL);
    sonde_otlp_metrics_opts mo;
    sonde_otlp_metrics *m = (sonde_otlp_metrics *)1;
    sonde_otlp_metrics_opts_init(NULL);
    sonde_otlp_metrics_opts_init(&mo);
    CHECK_EQ_INT(sonde_otlp_metrics_start(&mo, &m), SONDE_EINVAL); /* no registry */
    CHECK(m == NULL);
    CHECK_EQ_INT(sonde_otlp_metrics_start(&mo, NULL), SONDE_EINVAL);
    CHECK(sonde_otlp_metrics_reader(NULL) == NULL);
    sonde_otlp_metrics_stop(NULL, 0);
}

/* push.h: the encoder needs a registry, the senders their object; free accepts NULL. */
TEST(push_needs_its_objects)
{
    char *out = NULL, buf[64];
    size_t len = 0;
    long status = 9;
    CHECK_EQ_INT(sonde_remote_write_encode(NULL, NULL, 0, 0, &out, &len, NULL), SONDE_EINVAL);
    sonde_pushgateway_opts po;
    sonde_pushgateway_opts_init(NULL);
    sonde_pushgateway_opts_init(&po);
    sonde_pushgateway *pg = (sonde_pushgateway *)&po;
    CHECK_EQ_INT(sonde_pushgateway_new(NULL, &pg), SONDE_EINVAL);
    CHECK(pg == NULL);
    CHECK_EQ_INT(sonde_pushgateway_new(&po, NULL), SONDE_EINVAL);
    sonde_pushgateway_free(NULL);
    CHECK_EQ_STR(sonde_pushgateway_url(NULL), "");
    CHECK_EQ_INT(sonde_pushgateway_push(NULL, NULL, SONDE_PUSH_DELETE, &status), SONDE_EINVAL);
    CHECK_EQ_INT(status, 0);
    CHECK_EQ_INT(sonde_pushgateway_push_job_end(NULL, NULL, 1, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_pushgateway_path(NULL, NULL, 0, buf, sizeof buf), SONDE_EINVAL);
    sonde_remote_write_opts ro;
    sonde_remote_write_opts_init(NULL);
    sonde_remote_write_opts_init(&ro);
    sonde_remote_write *rw;
    CHECK_EQ_INT(sonde_remote_write_new(&ro, &rw), SONDE_EINVAL); /* no registry, no url */
    CHECK_EQ_INT(sonde_remote_write_new(NULL, NULL), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_remote_write_snapshot_now(NULL), SONDE_EINVAL);
    sonde_remote_write_free(NULL, 0);
    sonde_remote_write_stats st;
    sonde_remote_write_stats_get(NULL, &st);
    CHECK_EQ_INT(st.snapshots, 0);
    sonde_exporters *ex;
    CHECK_EQ_INT(sonde_exporters_from_env(NULL, NULL, &ex, NULL, 0), SONDE_EINVAL);
    CHECK(sonde_exporters_remote_write(NULL) == NULL);
    CHECK(sonde_exporters_pushgateway(NULL) == NULL);
    CHECK(sonde_exporters_otlp_metrics(NULL) == NULL);
    sonde_exporters_free(NULL, 1, 1, 0);
}

int main(void)
{
    RUN(null_series_are_noops);
    RUN(null_families_are_noops);
    RUN(disabled_registry_hands_out_null_instruments);
    RUN(registry_and_exposition_need_a_registry);
    RUN(other_null_arguments_are_einval);
    RUN(null_http_modules_are_noops);
    RUN(server_needs_a_server);
    RUN(console_needs_a_console);
    RUN(null_llm_is_a_noop);
    RUN(null_store_and_handles_are_noops);
    RUN(price_tables_need_a_table);
    RUN(null_tracer_and_span_are_noops);
    RUN(trace_functions_need_their_arguments);
    RUN(null_logger_is_a_noop);
    RUN(otlp_needs_a_transport);
    RUN(alert_webhook_needs_a_url);
    RUN(metric_reader_needs_a_registry);
    RUN(push_needs_its_objects);
    return check_report();
}
