/*
 * test_config.c - sonde_config: the documented defaults, every SONDE_*
 * environment variable (well formed and malformed; a malformed value is an
 * error naming the variable and leaves the struct exactly as it was),
 * sonde_config_validate's refusals, cleanup, and global labels reaching
 * every series of every type in both formats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sonde/sonde.h"

static const char *const vars[] = {"SONDE_METRICS_ENABLED", "SONDE_METRICS_PATH", "SONDE_METRICS_ADDR",
                                   "SONDE_METRICS_PORT", "SONDE_GLOBAL_LABELS", "SONDE_SERVICE_NAME",
                                   "SONDE_SERVICE_VERSION", "SONDE_ENVIRONMENT"};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
}

static const char *label(const sonde_config *c, const char *name)
{
    for (size_t i = 0; i < c->global_label_count; i++)
        if (strcmp(c->global_labels[i].name, name) == 0)
            return c->global_labels[i].value;
    return NULL;
}

/* Setting var=value must fail with a message naming var, leaving cfg as it was. */
static void expect_env_error(const char *var, const char *value)
{
    clear_env();
    sonde_config c;
    sonde_config_init(&c);
    static const sonde_label g[] = {{"keep", "me"}};
    c.global_labels = g;
    c.global_label_count = 1;
    c.port = 1234;
    sonde_config before = c;
    setenv("SONDE_METRICS_PATH", "/ok", 1); /* a valid variable is not applied either */
    setenv(var, value, 1);
    char err[256] = "";
    int rc = sonde_config_from_env(&c, err, sizeof err);
    if (rc != SONDE_ECONFIG)
        fprintf(stderr, "%s=\"%s\" was accepted\n", var, value);
    CHECK_EQ_INT(rc, SONDE_ECONFIG);
    CHECK_CONTAINS(err, var);
    CHECK(memcmp(&c, &before, sizeof c) == 0);
    CHECK_EQ_INT(sonde_config_from_env(&c, NULL, 0), SONDE_ECONFIG); /* no message buffer: fine */
    sonde_config_cleanup(&c);
    clear_env();
}

TEST(defaults)
{
    sonde_config c;
    memset(&c, 0x5a, sizeof c);
    sonde_config_init(&c);
    CHECK_EQ_INT(c.enabled, 1);
    CHECK_EQ_STR(c.metrics_path, "/metrics");
    CHECK(c.listen_addr == NULL);
    CHECK_EQ_INT(c.port, 9464);
    CHECK_EQ_INT(c.port, SONDE_DEFAULT_PORT);
    CHECK_EQ_INT(c.process_metrics, 1);
    CHECK(c.global_labels == NULL);
    CHECK_EQ_INT(c.global_label_count, 0);
    CHECK(c.latency_buckets.bounds == SONDE_BUCKETS_DEFAULT.bounds);
    CHECK_EQ_INT(c.latency_buckets.count, 11);
    CHECK(c.size_buckets.bounds == SONDE_BUCKETS_SIZE.bounds);
    CHECK_EQ_INT(c.size_buckets.count, 8);
    CHECK_EQ_INT(c.cardinality_limit, 10000);
    CHECK(c.owned_ == NULL);
    CHECK_EQ_INT(sonde_config_validate(&c, NULL, 0), SONDE_OK);
    sonde_config_init(NULL);
    clear_env();
    CHECK_EQ_INT(sonde_config_from_env(&c, NULL, 0), SONDE_OK); /* an empty environment changes nothing */
    CHECK_EQ_STR(c.metrics_path, "/metrics");
    CHECK_EQ_INT(c.port, 9464);
    CHECK_EQ_INT(c.global_label_count, 0);
    sonde_config_cleanup(&c);
    CHECK_EQ_INT(sonde_config_from_env(NULL, NULL, 0), SONDE_EINVAL);
    sonde_config_cleanup(NULL);
}

TEST(env_enabled)
{
    const char *yes[] = {"1", "true", "TRUE", "yes", "On"}, *no[] = {"0", "false", "False", "no", "OFF"};
    for (int i = 0; i < 5; i++) {
        sonde_config c;
        sonde_config_init(&c);
        c.enabled = 0;
        setenv("SONDE_METRICS_ENABLED", yes[i], 1);
        CHECK_EQ_INT(sonde_config_from_env(&c, NULL, 0), SONDE_OK);
        CHECK_EQ_INT(c.enabled, 1);
        setenv("SONDE_METRICS_ENABLED", no[i], 1);
        CHECK_EQ_INT(sonde_config_from_env(&c, NULL, 0), SONDE_OK);
        CHECK_EQ_INT(c.enabled, 0);
        sonde_config_cleanup(&c);
    }
    clear_env();
    expect_env_error("SONDE_METRICS_ENABLED", "maybe");
    expect_env_error("SONDE_METRICS_ENABLED", "");
    expect_env_error("SONDE_METRICS_ENABLED", "2");
    expect_env_error("SONDE_METRICS_ENABLED", "true ");
}

TEST(env_path_addr_port)
{
    clear_env();
    sonde_config c;
    sonde_config_init(&c);
    setenv("SONDE_METRICS_PATH", "/custom/metrics", 1);
    setenv("SONDE_METRICS_ADDR", "127.0.0.1", 1);
    setenv("SONDE_METRICS_PORT", "65535", 1);
    CHECK_EQ_INT(sonde_config_from_env(&c, NULL, 0), SONDE_OK);
    CHECK_EQ_STR(c.metrics_path, "/custom/metrics");
    CHECK_EQ_STR(c.listen_addr, "127.0.0.1");
    CHECK_EQ_INT(c.port, 65535);
    CHECK_EQ_INT(sonde_config_validate(&c, NULL, 0), SONDE_OK);
    setenv("SONDE_METRICS_ADDR", "::1", 1);
    setenv("SONDE_METRICS_PORT", "1", 1);
    CHECK_EQ_INT(sonde_config_from_env(&c, NULL, 0), SONDE_OK); /* again: the old strings are freed */
    CHECK_EQ_STR(c.listen_addr, "::1");
    CHECK_EQ_INT(c.port, 1);
    setenv("SONDE_METRICS_ADDR", "", 1); /* empty: all interfaces */
    CHECK_EQ_INT(sonde_config_from_env(&c, NULL, 0), SONDE_OK);
    CHECK(c.listen_addr == NULL);
    /* cleanup returns the borrowed strings to their defaults */
    sonde_config_cleanup(&c);
    CHECK_EQ_STR(c.metrics_path, "/metrics");
    CHECK(c.listen_addr == NULL);
    CHECK_EQ_INT(c.port, 1);
    clear_env();

    expect_env_error("SONDE_METRICS_PATH", "metrics");
    expect_env_error("SONDE_METRICS_PATH", "");
    expect_env_error("SONDE_METRICS_PATH", "/a b");
    expect_env_error("SONDE_METRICS_PATH", "/a?b");
    expect_env_error("SONDE_METRICS_ADDR", "localhost");
    expect_env_error("SONDE_METRICS_ADDR", "1.2.3");
    expect_env_error("SONDE_METRICS_ADDR", "256.1.1.1");
    expect_env_error("SONDE_METRICS_ADDR", "::1 ");
    const char *bad_ports[] = {"0", "65536", "-1", "80x", "", "eighty", "99999999999999999999", " 80", "+80", "8.0"};
    for (size_t i = 0; i < sizeof bad_ports / sizeof *bad_ports; i++)
        expect_env_error("SONDE_METRICS_PORT", bad_ports[i]);
}

TEST(env_global_labels)
{
    clear_env();
    sonde_config c;
    sonde_config_init(&c);
    static const sonde_label code[] = {{"team", "core"}, {"service", "from-code"}};
    c.global_labels = code;
    c.global_label_count = 2;
    setenv("SONDE_GLOBAL_LABELS", "region=eu-west,expr=a=b,empty=,utf=caf\xc3\xa9", 1);
    setenv("SONDE_SERVICE_NAME", "api", 1);
    setenv("SONDE_SERVICE_VERSION", "1.2.3", 1);
    setenv("SONDE_ENVIRONMENT", "prod", 1);
    char err[128];
    CHECK_EQ_INT(sonde_config_from_env(&c, err, sizeof err), SONDE_OK);
    CHECK_EQ_INT(c.global_label_count, 8);
    CHECK_EQ_STR(label(&c, "team"), "core");
    CHECK_EQ_STR(label(&c, "service"), "api"); /* the environment overrides the code */
    CHECK_EQ_STR(label(&c, "region"), "eu-west");
    CHECK_EQ_STR(label(&c, "expr"), "a=b");
    CHECK_EQ_STR(label(&c, "empty"), "");
    CHECK_EQ_STR(label(&c, "utf"), "caf\xc3\xa9");
    CHECK_EQ_STR(label(&c, "version"), "1.2.3");
    CHECK_EQ_STR(label(&c, "environment"), "prod");
    CHECK_EQ_INT(sonde_config_validate(&c, NULL, 0), SONDE_OK);
    /* a registry copies them: the config may be cleaned up right after */
    c.process_metrics = 0;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&c, &r), SONDE_OK);
    sonde_config_cleanup(&c);
    CHECK(c.global_labels == NULL);
    CHECK_EQ_INT(c.global_label_count, 0);
    sonde_gauge *g;
    CHECK_EQ_INT(sonde_gauge_new(r, "g", NULL, &g), SONDE_OK);
    sonde_gauge_set(g, 1);
    char *t = sonde_expose_alloc(r, SONDE_FORMAT_TEXT, NULL);
    CHECK_EQ_STR(t, "# TYPE g gauge\ng{team=\"core\",service=\"api\",region=\"eu-west\",expr=\"a=b\","
                    "empty=\"\",utf=\"caf\xc3\xa9\",version=\"1.2.3\",environment=\"prod\"} 1\n");
    free(t);
    sonde_registry_free(r);
    clear_env();

    /* empty variables are ignored */
    sonde_config_init(&c);
    setenv("SONDE_GLOBAL_LABELS", "", 1);
    setenv("SONDE_SERVICE_NAME", "", 1);
    CHECK_EQ_INT(sonde_config_from_env(&c, NULL, 0), SONDE_OK);
    CHECK_EQ_INT(c.global_label_count, 0);
    sonde_config_cleanup(&c);
    clear_env();

    const char *bad[] = {"=v", "novalue", "a=1,", "a=1,,b=2", "9a=1", "__a=1", "a-b=1", "a=\xff",
                         "le=1", "quantile=0.5", "metric=x", ",a=1", "a=1,b=2,a=3"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_env_error("SONDE_GLOBAL_LABELS", bad[i]);
    char many[1024] = "";
    for (int i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sl%d=v", i ? "," : "", i);
    expect_env_error("SONDE_GLOBAL_LABELS", many);
    expect_env_error("SONDE_SERVICE_NAME", "\xc3");
    expect_env_error("SONDE_SERVICE_VERSION", "\xed\xa0\x80");
    expect_env_error("SONDE_ENVIRONMENT", "\xff");
}

/* The most labels a config may hold (32 of the caller's), each replaced from the environment:
 * accepted, not "out of memory" (the env parser once ran out of string slots here). */
TEST(env_replaces_a_full_label_set)
{
    clear_env();
    static char names[SONDE_MAX_GLOBAL_LABELS][8];
    sonde_label given[SONDE_MAX_GLOBAL_LABELS];
    char env[SONDE_MAX_GLOBAL_LABELS * 12] = "";
    for (int i = 0; i < SONDE_MAX_GLOBAL_LABELS; i++) {
        snprintf(names[i], sizeof names[i], "l%d", i);
        given[i] = (sonde_label){names[i], "old"};
        snprintf(env + strlen(env), sizeof env - strlen(env), "%sl%d=new", i ? "," : "", i);
    }
    setenv("SONDE_GLOBAL_LABELS", env, 1);
    setenv("SONDE_SERVICE_NAME", "svc", 1);
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.global_labels = given;
    cfg.global_label_count = SONDE_MAX_GLOBAL_LABELS;
    char err[128] = "";
    CHECK_EQ_INT(sonde_config_from_env(&cfg, err, sizeof err), SONDE_ECONFIG);
    CHECK_CONTAINS(err, "too many global labels"); /* 33 labels with service: the limit, named */
    unsetenv("SONDE_SERVICE_NAME");
    err[0] = '\0';
    CHECK_EQ_INT(sonde_config_from_env(&cfg, err, sizeof err), SONDE_OK);
    CHECK_EQ_STR(err, "");
    CHECK_EQ_INT(cfg.global_label_count, SONDE_MAX_GLOBAL_LABELS);
    for (size_t i = 0; i < cfg.global_label_count; i++)
        CHECK_EQ_STR(cfg.global_labels[i].value, "new");
    sonde_config_cleanup(&cfg);
    clear_env();
}

TEST(validate)
{
    sonde_config c;
    char err[256];
#define REFUSED(stmt, needle)                                                            \
    do {                                                                                 \
        sonde_config_init(&c);                                                           \
        stmt;                                                                            \
        err[0] = '\0';                                                                   \
        CHECK_EQ_INT(sonde_config_validate(&c, err, sizeof err), SONDE_ECONFIG);          \
        CHECK_CONTAINS(err, needle);                                                     \
        sonde_registry *r_ = (sonde_registry *)&c;                                       \
        CHECK_EQ_INT(sonde_registry_new(&c, &r_), SONDE_ECONFIG);                         \
        CHECK(r_ == NULL);                                                               \
    } while (0)
    REFUSED(c.port = -1, "port");
    REFUSED(c.port = 65536, "port");
    REFUSED(c.metrics_path = "metrics", "metrics");
    REFUSED(c.metrics_path = "", "path");
    REFUSED(c.listen_addr = "example.com", "example.com");
    static const sonde_label bad_name[] = {{"a-b", "x"}}, null_name[] = {{NULL, "x"}},
                             null_value[] = {{"a", NULL}}, bad_value[] = {{"a", "\xff"}},
                             repeated[] = {{"a", "1"}, {"a", "2"}}, reserved[] = {{"quantile", "1"}};
    REFUSED((c.global_labels = bad_name, c.global_label_count = 1), "a-b");
    REFUSED((c.global_labels = null_name, c.global_label_count = 1), "global label");
    REFUSED((c.global_labels = null_value, c.global_label_count = 1), "UTF-8");
    REFUSED((c.global_labels = bad_value, c.global_label_count = 1), "UTF-8");
    REFUSED((c.global_labels = repeated, c.global_label_count = 2), "repeated");
    REFUSED((c.global_labels = reserved, c.global_label_count = 1), "quantile");
    REFUSED((c.global_labels = NULL, c.global_label_count = 1), "global labels");
    REFUSED((c.global_labels = repeated, c.global_label_count = 33), "global labels");
    static const double unsorted[] = {2, 1}, inf[] = {1, INFINITY};
    REFUSED(c.latency_buckets = ((sonde_buckets){unsorted, 2}), "latency");
    REFUSED(c.latency_buckets = ((sonde_buckets){NULL, 2}), "latency");
    REFUSED(c.size_buckets = ((sonde_buckets){inf, 2}), "size");
    REFUSED(c.cardinality_limit = 0, "cardinality");
    CHECK_EQ_INT(sonde_config_validate(NULL, err, sizeof err), SONDE_EINVAL);
    /* accepted corner values */
    sonde_config_init(&c);
    c.port = 0; /* any free port */
    c.listen_addr = "";
    c.metrics_path = NULL;
    c.latency_buckets = (sonde_buckets){NULL, 0}; /* = the defaults */
    c.cardinality_limit = 1;
    CHECK_EQ_INT(sonde_config_validate(&c, NULL, 0), SONDE_OK);
    c.process_metrics = 0;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&c, &r), SONDE_OK);
    CHECK_EQ_STR(sonde_registry_config(r)->metrics_path, "/metrics");
    CHECK_EQ_INT(sonde_registry_config(r)->latency_buckets.count, 11);
    sonde_registry_free(r);
    /* a message longer than the buffer is cut, never overflows */
    char tiny[8];
    sonde_config_init(&c);
    c.metrics_path = "a-very-long-path-without-a-slash";
    CHECK_EQ_INT(sonde_config_validate(&c, tiny, sizeof tiny), SONDE_ECONFIG);
    CHECK_EQ_INT(strlen(tiny), 7);
}

static int is_sample(const char *line) { return line[0] != '#'; }

/* Every sample line starts its labels with the global ones. */
static void check_every_series(const char *t, const char *globals)
{
    char *copy = strdup(t);
    int samples = 0;
    for (char *save, *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!is_sample(line))
            continue;
        samples++;
        const char *brace = strchr(line, '{');
        if (!brace || strncmp(brace + 1, globals, strlen(globals)) != 0) {
            fprintf(stderr, "series without the global labels: %s\n", line);
            CHECK(0);
        }
    }
    CHECK(samples > 30);
    free(copy);
}

static int emit_one(sonde_emitter *e, void *ud)
{
    (void)ud;
    sonde_emit_family(e, "collected", NULL, SONDE_GAUGE, NULL);
    sonde_emit_sample(e, NULL, NULL, 0, 1);
    return 0;
}

TEST(global_labels_on_every_series)
{
    clear_env();
    sonde_config c;
    sonde_config_init(&c);
    static const sonde_label g[] = {{"service", "a\"b\\c\nd"}, {"zone", "\xe6\x97\xa5"}};
    c.global_labels = g;
    c.global_label_count = 2;
    c.process_metrics = 1;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&c, &r), SONDE_OK);
    static const char *const lab[] = {"k"};
    static const char *const states[] = {"on", "off"};
    sonde_metric_opts opts[] = {
        {.type = SONDE_COUNTER, .name = "c_total"},
        {.type = SONDE_COUNTER, .name = "cl_total", .label_names = lab, .label_count = 1, .cardinality_limit = 1},
        {.type = SONDE_GAUGE, .name = "g"},
        {.type = SONDE_HISTOGRAM, .name = "h", .label_names = lab, .label_count = 1},
        {.type = SONDE_SUMMARY, .name = "s"},
        {.type = SONDE_INFO, .name = "i", .label_names = lab, .label_count = 1},
        {.type = SONDE_STATESET, .name = "st", .states = states, .state_count = 2},
    };
    sonde_metric *m[7];
    for (int i = 0; i < 7; i++)
        CHECK_EQ_INT(sonde_register(r, &opts[i], &m[i]), SONDE_OK);
    sonde_counter_with(m[1], (const char *[]){"x"});
    sonde_counter_with(m[1], (const char *[]){"y"}); /* refused: a rejection series appears */
    sonde_histogram_observe(sonde_histogram_with(m[3], (const char *[]){"x"}), 1);
    sonde_summary_observe(sonde_summary_of(m[4]), 1);
    sonde_info_set(m[5], (const char *[]){"v"});
    CHECK_EQ_INT(sonde_collector_add(r, "one", emit_one, NULL, NULL), SONDE_OK);
    const char *globals = "service=\"a\\\"b\\\\c\\nd\",zone=\"\xe6\x97\xa5\"";
    char *t = sonde_expose_alloc(r, SONDE_FORMAT_TEXT, NULL);
    check_every_series(t, globals);
    CHECK_CONTAINS(t, "sonde_cardinality_rejections_total{service=");
    CHECK_CONTAINS(t, "process_open_fds{service=");
    CHECK_CONTAINS(t, "collected{service=");
    CHECK_CONTAINS(t, "h_bucket{service=\"a\\\"b\\\\c\\nd\",zone=\"\xe6\x97\xa5\",k=\"x\",le=\"+Inf\"} 1\n");
    free(t);
    t = sonde_expose_alloc(r, SONDE_FORMAT_OPENMETRICS, NULL);
    check_every_series(t, globals);
    CHECK_CONTAINS(t, "st{service=\"a\\\"b\\\\c\\nd\",zone=\"\xe6\x97\xa5\",st=\"on\"} 0\n");
    free(t);
    sonde_registry_free(r);
}

int main(void)
{
    RUN(defaults);
    RUN(env_enabled);
    RUN(env_path_addr_port);
    RUN(env_global_labels);
    RUN(env_replaces_a_full_label_set);
    RUN(validate);
    RUN(global_labels_on_every_series);
    return check_report();
}
