/*
 * test_names.c - what registration accepts and refuses: metric and label
 * name syntax, reserved names (the "__" prefix, "le" in histograms,
 * "quantile" in summaries, a stateset's own state label, the suffixes other
 * types produce), duplicates including the sample names a family makes
 * ("foo" counter vs "foo_total", "foo" histogram vs "foo_sum"), units that
 * must be a suffix, global labels that clash with reserved labels, and
 * invalid UTF-8 in help and label values. Every refusal must leave the
 * registry exactly as it was, which is checked against the exposition.
 */
#include <stdlib.h>

#include "check.h"
#include "registry_fixture.h"
#include "sonde/sonde.h"

static char *expose(sonde_registry *r)
{
    return sonde_expose_alloc(r, SONDE_FORMAT_OPENMETRICS, NULL);
}

static int reg_type(sonde_registry *r, sonde_type t, const char *name)
{
    sonde_metric_opts o = {.type = t, .name = name};
    static const char *const states[] = {"a", "b"};
    if (t == SONDE_STATESET) {
        o.states = states;
        o.state_count = 2;
    }
    sonde_metric *m = NULL;
    int rc = sonde_register(r, &o, &m);
    if (rc == SONDE_OK)
        CHECK(m != NULL);
    else
        CHECK(m == NULL);
    return rc;
}

static int reg_labels(sonde_registry *r, sonde_type t, const char *name, const char *const *labels,
                      size_t n)
{
    sonde_metric_opts o = {.type = t, .name = name, .label_names = labels, .label_count = n};
    static const char *const states[] = {"a", "b"};
    if (t == SONDE_STATESET) {
        o.states = states;
        o.state_count = 2;
    }
    sonde_metric *m = NULL;
    return sonde_register(r, &o, &m);
}

TEST(metric_name_syntax)
{
    sonde_registry *r = new_reg();
    const char *good[] = {"a", "_a", ":a", "a:b", "A_b9", "x_1:2", "_"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, good[i]), SONDE_OK);
    const char *bad[] = {"", "9a", "a-b", "a b", "a.b", "é", "__a", "__", "a\n", "a{b}", "-"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, bad[i]), SONDE_ENAME);
    sonde_metric_opts o = {.type = SONDE_GAUGE, .name = NULL};
    sonde_metric *m = (sonde_metric *)&o;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_EINVAL);
    CHECK(m == NULL);
    CHECK_EQ_INT(sonde_register(r, NULL, &m), SONDE_EINVAL);
    CHECK_EQ_INT(sonde_register(NULL, &o, &m), SONDE_EINVAL);
    o.name = "ok_name";
    CHECK_EQ_INT(sonde_register(r, &o, NULL), SONDE_EINVAL);
    o.type = (sonde_type)99;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_EINVAL);
    o.type = SONDE_UNTYPED; /* only collectors emit untyped families */
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_EINVAL);
    CHECK(sonde_registry_find(r, "ok_name") == NULL);
    sonde_registry_free(r);
}

TEST(label_name_syntax)
{
    sonde_registry *r = new_reg();
    static const char *const good[] = {"a", "_b", "C9", "le", "quantile"};
    CHECK_EQ_INT(reg_labels(r, SONDE_COUNTER, "good", good, 5), SONDE_OK);
    const char *bad[] = {"", "9a", "a:b", "a-b", "__x", "__", "é", "a b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *labels[] = {"ok", bad[i]};
        CHECK_EQ_INT(reg_labels(r, SONDE_COUNTER, "bad_labels", labels, 2), SONDE_ENAME);
    }
    static const char *const dup[] = {"a", "b", "a"};
    CHECK_EQ_INT(reg_labels(r, SONDE_GAUGE, "dup_labels", dup, 3), SONDE_ENAME);
    static const char *const has_null[] = {"a", NULL};
    CHECK_EQ_INT(reg_labels(r, SONDE_GAUGE, "null_label", has_null, 2), SONDE_ENAME);
    CHECK_EQ_INT(reg_labels(r, SONDE_GAUGE, "no_label_array", NULL, 2), SONDE_EINVAL);
    CHECK(sonde_registry_find(r, "bad_labels") == NULL);
    CHECK(sonde_registry_find(r, "dup_labels") == NULL);
    sonde_registry_free(r);
}

TEST(reserved_labels_per_type)
{
    sonde_registry *r = new_reg();
    static const char *const le[] = {"le"}, *const q[] = {"quantile"};
    CHECK_EQ_INT(reg_labels(r, SONDE_HISTOGRAM, "h1", le, 1), SONDE_ENAME);
    CHECK_EQ_INT(reg_labels(r, SONDE_SUMMARY, "s1", q, 1), SONDE_ENAME);
    CHECK_EQ_INT(reg_labels(r, SONDE_HISTOGRAM, "h2", q, 1), SONDE_OK);
    CHECK_EQ_INT(reg_labels(r, SONDE_SUMMARY, "s2", le, 1), SONDE_OK);
    CHECK_EQ_INT(reg_labels(r, SONDE_GAUGE, "g1", le, 1), SONDE_OK);
    static const char *const self[] = {"phase"};
    CHECK_EQ_INT(reg_labels(r, SONDE_STATESET, "phase", self, 1), SONDE_ENAME);
    static const char *const other[] = {"pod"};
    CHECK_EQ_INT(reg_labels(r, SONDE_STATESET, "phase", other, 1), SONDE_OK);
    /* a stateset's name is also its label name, so it must be a valid label name */
    CHECK_EQ_INT(reg_type(r, SONDE_STATESET, "a:b"), SONDE_ENAME);
    CHECK(sonde_registry_find(r, "h1") == NULL);
    CHECK(sonde_registry_find(r, "s1") == NULL);
    sonde_registry_free(r);
}

TEST(reserved_suffixes)
{
    sonde_registry *r = new_reg();
    /* a sample name of another type's shape is refused */
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "g_total"), SONDE_ENAME);
    CHECK_EQ_INT(reg_type(r, SONDE_HISTOGRAM, "h_bucket"), SONDE_ENAME);
    CHECK_EQ_INT(reg_type(r, SONDE_HISTOGRAM, "h_count"), SONDE_ENAME);
    CHECK_EQ_INT(reg_type(r, SONDE_SUMMARY, "s_sum"), SONDE_ENAME);
    CHECK_EQ_INT(reg_type(r, SONDE_COUNTER, "c_created"), SONDE_ENAME);
    CHECK_EQ_INT(reg_type(r, SONDE_COUNTER, "c_total_total"), SONDE_OK); /* family c_total */
    sonde_registry_free(r);
}

TEST(duplicates)
{
    sonde_registry *r = new_reg();
    CHECK_EQ_INT(reg_type(r, SONDE_COUNTER, "foo"), SONDE_OK);
    CHECK_EQ_INT(reg_type(r, SONDE_COUNTER, "foo"), SONDE_EEXIST);
    CHECK_EQ_INT(reg_type(r, SONDE_COUNTER, "foo_total"), SONDE_EEXIST);
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "foo"), SONDE_EEXIST);
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "foo_created"), SONDE_EEXIST);

    CHECK_EQ_INT(reg_type(r, SONDE_COUNTER, "bar_total"), SONDE_OK);
    CHECK_EQ_INT(reg_type(r, SONDE_COUNTER, "bar"), SONDE_EEXIST);
    CHECK(sonde_registry_find(r, "bar") == sonde_registry_find(r, "bar_total"));
    CHECK_EQ_STR(sonde_metric_name(sonde_registry_find(r, "bar_total")), "bar");

    CHECK_EQ_INT(reg_type(r, SONDE_HISTOGRAM, "lat"), SONDE_OK);
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "lat_bucket"), SONDE_EEXIST);
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "lat_sum"), SONDE_EEXIST);
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "lat_count"), SONDE_EEXIST);
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "lat_created"), SONDE_EEXIST);
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "lat_other"), SONDE_OK);

    CHECK_EQ_INT(reg_type(r, SONDE_INFO, "build_info"), SONDE_OK);
    CHECK_EQ_INT(reg_type(r, SONDE_INFO, "build"), SONDE_EEXIST);
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "build_info"), SONDE_EEXIST);
    CHECK_EQ_STR(sonde_metric_name(sonde_registry_find(r, "build_info")), "build");

    /* the same clashes with the families registered the other way round */
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "q_sum"), SONDE_OK);
    CHECK_EQ_INT(reg_type(r, SONDE_SUMMARY, "q"), SONDE_EEXIST);
    CHECK_EQ_INT(reg_type(r, SONDE_HISTOGRAM, "q"), SONDE_EEXIST);
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "k_created"), SONDE_OK);
    CHECK_EQ_INT(reg_type(r, SONDE_COUNTER, "k"), SONDE_EEXIST);
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "v_info"), SONDE_OK);
    CHECK_EQ_INT(reg_type(r, SONDE_INFO, "v"), SONDE_EEXIST);
    CHECK(sonde_registry_find(r, "q") == NULL);
    CHECK(sonde_registry_find(r, "k") == NULL);

    /* the registry's own family is taken too */
    CHECK_EQ_INT(reg_type(r, SONDE_COUNTER, "sonde_cardinality_rejections_total"), SONDE_EEXIST);

    /* after unregistering, the name is free again */
    CHECK_EQ_INT(sonde_unregister(sonde_registry_find(r, "foo")), SONDE_OK);
    CHECK_EQ_INT(reg_type(r, SONDE_GAUGE, "foo"), SONDE_OK);
    sonde_registry_free(r);
}

TEST(units)
{
    sonde_registry *r = new_reg();
    struct {
        const char *name, *unit;
        sonde_type type;
        int rc;
    } cases[] = {
        {"d_seconds", "seconds", SONDE_HISTOGRAM, SONDE_OK},
        {"e_seconds_total", "seconds", SONDE_COUNTER, SONDE_OK}, /* family e_seconds */
        {"f_bytes", "seconds", SONDE_GAUGE, SONDE_ENAME},
        {"seconds", "seconds", SONDE_GAUGE, SONDE_ENAME},       /* the unit alone is no suffix */
        {"g_xseconds", "seconds", SONDE_GAUGE, SONDE_ENAME},    /* not after an underscore */
        {"h_total", "total", SONDE_COUNTER, SONDE_ENAME},       /* family h has no unit suffix */
        {"i_my:unit", "my:unit", SONDE_GAUGE, SONDE_ENAME},     /* not a valid unit token */
        {"j_bytes", "", SONDE_GAUGE, SONDE_OK},                 /* "" = no unit */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sonde_metric_opts o = {.type = cases[i].type, .name = cases[i].name, .unit = cases[i].unit};
        sonde_metric *m = NULL;
        int rc = sonde_register(r, &o, &m);
        if (rc != cases[i].rc)
            fprintf(stderr, "unit case %s/%s\n", cases[i].name, cases[i].unit);
        CHECK_EQ_INT(rc, cases[i].rc);
    }
    CHECK(sonde_registry_find(r, "f_bytes") == NULL);
    sonde_registry_free(r);
}

/* The exposition without the lines of sonde_label_rejections (which counts the refusals). */
static char *expose_without_rejections(sonde_registry *r)
{
    char *t = expose(r), *out = t ? malloc(strlen(t) + 1) : NULL;
    if (!out) {
        free(t);
        return NULL;
    }
    size_t n = 0;
    for (const char *line = t; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) + 1 : strlen(line);
        const char *name = line[0] == '#' && line[1] == ' ' && strlen(line) > 7 ? line + 7 : line;
        if (strncmp(name, "sonde_label_rejections", 22) != 0) { /* # HELP/TYPE name, samples */
            memcpy(out + n, line, len);
            n += len;
        }
        line += len;
    }
    out[n] = '\0';
    free(t);
    return out;
}

static double label_rejections(sonde_registry *r, const char *metric, const char *reason)
{
    sonde_metric *m = sonde_registry_find(r, "sonde_label_rejections_total");
    return sonde_counter_value(sonde_counter_with(m, (const char *[]){metric, reason}));
}

TEST(utf8_refused_and_nothing_changes)
{
    sonde_registry *r = new_reg();
    static const char *const labels[] = {"v"};
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "u", .label_names = labels, .label_count = 1};
    sonde_metric *m;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    sonde_counter_inc(sonde_counter_with(m, (const char *[]){"ok"}));
    char *before = expose_without_rejections(r);

    const char *bad[] = {
        "\xff",              /* never valid */
        "a\x80",             /* lone continuation byte */
        "\xc3",              /* truncated 2-byte sequence */
        "\xe6\x97",          /* truncated 3-byte sequence */
        "\xc0\xaf",          /* overlong "/" */
        "\xe0\x80\xaf",      /* overlong, 3 bytes */
        "\xf0\x80\x80\xaf",  /* overlong, 4 bytes */
        "\xed\xa0\x80",      /* UTF-16 surrogate U+D800 */
        "\xf4\x90\x80\x80",  /* past U+10FFFF */
        "\xf8\x88\x80\x80\x80",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        void *child = (void *)1;
        CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){bad[i]}, &child), SONDE_EUTF8);
        CHECK(child == NULL);
        CHECK(sonde_counter_with(m, (const char *[]){bad[i]}) == NULL);
        sonde_metric_opts h = {.type = SONDE_GAUGE, .name = "bad_help", .help = bad[i]};
        sonde_metric *hm = NULL;
        CHECK_EQ_INT(sonde_register(r, &h, &hm), SONDE_EUTF8);
        CHECK(hm == NULL);
    }
    /* valid multi-byte text of every length is fine */
    CHECK(sonde_counter_with(m, (const char *[]){"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x9a\x80\xf4\x8f\xbf\xbf"}) != NULL);
    CHECK_EQ_INT(sonde_metric_child_count(m), 2);
    CHECK(sonde_registry_find(r, "bad_help") == NULL);
    sonde_metric_remove(m, (const char *[]){"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x9a\x80\xf4\x8f\xbf\xbf"});
    char *after = expose_without_rejections(r);
    CHECK_EQ_STR(after, before);
    free(before);
    free(after);
    /* each refused value counted once per try (sonde_metric_child, sonde_counter_with) */
    CHECK_EQ_DBL(label_rejections(r, "u", "invalid_utf8"), 20);
    CHECK_EQ_DBL(label_rejections(r, "u", "too_long"), 0);

    static const char *const bad_states[] = {"ok", "\xff"};
    sonde_metric_opts s = {.type = SONDE_STATESET, .name = "st", .states = bad_states, .state_count = 2};
    CHECK_EQ_INT(sonde_register(r, &s, &m), SONDE_EUTF8);
    sonde_registry_free(r);
}

static sonde_registry *reg_with_value_max(size_t max)
{
    sonde_config c;
    sonde_config_init(&c);
    c.process_metrics = 0;
    c.label_value_max = max;
    sonde_registry *r = NULL;
    sonde_registry_new(&c, &r);
    return r;
}

TEST(label_value_length_limit)
{
    sonde_config c;
    sonde_config_init(&c);
    CHECK_EQ_INT(c.label_value_max, SONDE_LABEL_VALUE_MAX);
    CHECK_EQ_INT(SONDE_LABEL_VALUE_MAX, 256);
    static const char *const labels[] = {"a", "b"};
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "lv", .label_names = labels, .label_count = 2};
    char *big = malloc(200001);
    memset(big, 'x', 200000);
    big[200000] = '\0';
    const size_t maxes[] = {0, SONDE_LABEL_VALUE_MAX, 8};
    for (size_t k = 0; k < 3; k++) {
        sonde_registry *r = reg_with_value_max(maxes[k]);
        size_t max = maxes[k] ? maxes[k] : SONDE_LABEL_VALUE_MAX; /* 0 = the default */
        sonde_metric *m;
        CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
        char at[300], over[300];
        memset(at, 'y', max);
        at[max] = '\0';
        memset(over, 'y', max + 1);
        over[max + 1] = '\0';
        void *child = NULL;
        CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){"ok", at}, &child), SONDE_OK);
        CHECK(child != NULL);
        child = (void *)1;
        CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){over, "ok"}, &child), SONDE_ETOOLONG);
        CHECK(child == NULL);
        CHECK(sonde_counter_with(m, (const char *[]){"ok", big}) == NULL);
        CHECK_EQ_INT(sonde_metric_child_count(m), 1);
        CHECK_EQ_DBL(label_rejections(r, "lv", "too_long"), 2);
        char *t = expose(r);
        CHECK(t && strlen(t) < 2000); /* nothing of the long values is kept */
        CHECK(t && !strstr(t, over));
        free(t);
        /* removing an over-long tuple finds nothing and changes nothing */
        CHECK_EQ_INT(sonde_metric_remove(m, (const char *[]){"ok", big}), SONDE_ENOENT);
        sonde_registry_free(r);
    }
    /* no limit at all: SIZE_MAX */
    sonde_registry *r = reg_with_value_max((size_t)-1);
    sonde_metric *m;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    CHECK(sonde_counter_with(m, (const char *[]){"ok", big}) != NULL);
    CHECK_EQ_DBL(label_rejections(r, "lv", "too_long"), 0);
    sonde_registry_free(r);
    free(big);
    CHECK(strstr(sonde_strerror(SONDE_ETOOLONG), "label-value limit") != NULL);
}

TEST(label_value_count)
{
    sonde_registry *r = new_reg();
    static const char *const labels[] = {"a", "b"};
    sonde_metric_opts o = {.type = SONDE_GAUGE, .name = "lv", .label_names = labels, .label_count = 2};
    sonde_metric *m;
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    void *c = (void *)1;
    CHECK_EQ_INT(sonde_metric_child(m, NULL, &c), SONDE_ELABELS);
    CHECK(c == NULL);
    CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){"x", NULL}, &c), SONDE_ELABELS);
    CHECK_EQ_INT(sonde_metric_child(m, (const char *[]){"", ""}, &c), SONDE_OK); /* empty values are values */
    CHECK(c != NULL);
    c = &c;
    CHECK_EQ_INT(sonde_metric_child(NULL, NULL, &c), SONDE_OK); /* a NULL family's child is NULL */
    CHECK(c == NULL);
    CHECK_EQ_INT(sonde_metric_child(m, NULL, NULL), SONDE_EINVAL);
    /* the wrong typed wrapper gives NULL, not a child of another type */
    CHECK(sonde_counter_with(m, (const char *[]){"x", "y"}) == NULL);
    CHECK(sonde_histogram_with(m, (const char *[]){"x", "y"}) == NULL);
    CHECK_EQ_INT(sonde_metric_child_count(m), 1);
    sonde_registry_free(r);
}

TEST(global_labels_clash)
{
    sonde_config c;
    sonde_config_init(&c);
    c.process_metrics = 0;
    static const sonde_label g[] = {{"service", "api"}};
    c.global_labels = g;
    c.global_label_count = 1;
    sonde_registry *r;
    CHECK_EQ_INT(sonde_registry_new(&c, &r), SONDE_OK);
    static const char *const svc[] = {"service"};
    CHECK_EQ_INT(reg_labels(r, SONDE_COUNTER, "x", svc, 1), SONDE_ENAME);
    /* a stateset's state label is named after it: it must not clash with a global label */
    CHECK_EQ_INT(reg_type(r, SONDE_STATESET, "service"), SONDE_ENAME);
    CHECK_EQ_INT(reg_type(r, SONDE_STATESET, "phase"), SONDE_OK);
    sonde_registry_free(r);

    /* global labels that would collide with the labels sonde writes itself are refused */
    const char *reserved[] = {"le", "quantile", "metric"};
    for (size_t i = 0; i < 3; i++) {
        sonde_label l[] = {{reserved[i], "x"}};
        c.global_labels = l;
        char err[128] = "";
        CHECK_EQ_INT(sonde_config_validate(&c, err, sizeof err), SONDE_ECONFIG);
        CHECK_CONTAINS(err, reserved[i]);
        r = (sonde_registry *)1;
        CHECK_EQ_INT(sonde_registry_new(&c, &r), SONDE_ECONFIG);
        CHECK(r == NULL);
    }
}

int main(void)
{
    RUN(metric_name_syntax);
    RUN(label_name_syntax);
    RUN(reserved_labels_per_type);
    RUN(reserved_suffixes);
    RUN(duplicates);
    RUN(units);
    RUN(utf8_refused_and_nothing_changes);
    RUN(label_value_length_limit);
    RUN(label_value_count);
    RUN(global_labels_clash);
    return check_report();
}
