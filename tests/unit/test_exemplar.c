/*
 * test_exemplar.c - exemplars of counters and histograms: the latest wins, each
 * lands in its value's bucket, automatic ones come from the thread's current
 * sampled span and only from it, explicit contexts win over it (and an
 * unsampled one means none), the exact OpenMetrics line (with a fake wall
 * clock), text 0.0.4 without any, the by-name forms, a removed series'
 * exemplars gone when its cells are reused, and the internal accessor the
 * protobuf exposition reads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "exemplar.h"
#include "internal.h"
#include "sonde/sonde.h"

#define TRACE_A "4bf92f3577b34da6a3ce929d0e0e4736"
#define SPAN_A "00f067aa0ba902b7"
#define TRACE_B "0af7651916cd43dd8448eb211c80319c"
#define SPAN_B "b7ad6b7169203331"
#define TRACE_C "11111111111111112222222222222222"
#define SPAN_C "3333333333333333"
#define TRACE_D "abcdefabcdefabcdefabcdefabcdef01"
#define SPAN_D "0123456789abcdef"

static uint64_t fake_wall(void *ud)
{
    (void)ud;
    return 1700000000123000000ull; /* 1700000000.123 s */
}

static sonde_span_context ctx_of(const char *trace, const char *span, const char *flags)
{
    char header[SONDE_TRACEPARENT_LEN + 1];
    snprintf(header, sizeof header, "00-%s-%s-%s", trace, span, flags);
    sonde_span_context c;
    CHECK_EQ_INT(sonde_traceparent_parse(header, NULL, &c), SONDE_OK);
    return c;
}

static char *om(sonde_registry *r)
{
    char *t = sonde_expose_alloc(r, SONDE_FORMAT_OPENMETRICS, NULL);
    CHECK(t != NULL);
    return t ? t : strdup("");
}

/* The line of text that starts with prefix (up to its newline), in a static buffer. */
static const char *line_of(const char *text, const char *prefix)
{
    static char line[1024];
    size_t n = strlen(prefix);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (!strncmp(p, prefix, n)) {
            size_t len = strcspn(p, "\n");
            if (len >= sizeof line)
                len = sizeof line - 1;
            memcpy(line, p, len);
            line[len] = '\0';
            return line;
        }
    }
    return "(absent)";
}

static sonde_registry *new_registry(void)
{
    sonde_registry *r = NULL;
    CHECK_EQ_INT(sonde_registry_new(NULL, &r), SONDE_OK);
    return r;
}

static sonde_tracer *new_tracer(sonde_sampler_kind kind)
{
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.read_env = 0;
    o.sampler = kind;
    o.recent_spans = 0;
    sonde_tracer *t = NULL;
    CHECK_EQ_INT(sonde_tracer_new(&o, &t), SONDE_OK);
    return t;
}

TEST(counter_latest_wins_exact_line)
{
    sonde_set_clock(NULL, fake_wall, NULL);
    sonde_registry *r = new_registry();
    sonde_counter *c;
    CHECK_EQ_INT(sonde_counter_new(r, "jobs_total", "Jobs.", &c), SONDE_OK);
    sonde_span_context a = ctx_of(TRACE_A, SPAN_A, "01"), b = ctx_of(TRACE_B, SPAN_B, "01");
    CHECK_EQ_INT(sonde_counter_add_exemplar(c, 2, &a), SONDE_OK);
    char *t = om(r);
    CHECK_EQ_STR(line_of(t, "jobs_total"),
                 "jobs_total 2 # {trace_id=\"" TRACE_A "\",span_id=\"" SPAN_A "\"} 2 1700000000.123");
    free(t);
    CHECK_EQ_INT(sonde_counter_add_exemplar(c, 0.5, &b), SONDE_OK);
    t = om(r);
    CHECK_EQ_STR(line_of(t, "jobs_total"),
                 "jobs_total 2.5 # {trace_id=\"" TRACE_B "\",span_id=\"" SPAN_B "\"} 0.5 1700000000.123");
    CHECK(strcmp(line_of(t, "jobs_created"), "(absent)") != 0 && !strstr(line_of(t, "jobs_created"), "#"));
    free(t);
    /* refused adds change nothing, exemplar included */
    CHECK_EQ_INT(sonde_counter_add_exemplar(c, -1, &a), SONDE_ERANGE);
    t = om(r);
    CHECK(strstr(line_of(t, "jobs_total"), TRACE_B) != NULL);
    free(t);
    sonde_registry_free(r);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(histogram_bucket_placement)
{
    sonde_set_clock(NULL, fake_wall, NULL);
    sonde_registry *r = new_registry();
    static const double b[] = {1, 2, 5};
    sonde_histogram *h;
    CHECK_EQ_INT(sonde_histogram_new(r, "lat_seconds", "L.", (sonde_buckets){b, 3}, &h), SONDE_OK);
    sonde_span_context a = ctx_of(TRACE_A, SPAN_A, "01"), bb = ctx_of(TRACE_B, SPAN_B, "01"),
                       c = ctx_of(TRACE_C, SPAN_C, "01"), d = ctx_of(TRACE_D, SPAN_D, "01");
    sonde_histogram_observe_exemplar(h, 0.5, &a);
    sonde_histogram_observe_exemplar(h, 1.5, &bb);
    sonde_histogram_observe_exemplar(h, 1, &c); /* the bound belongs to its bucket; replaces a */
    sonde_histogram_observe_exemplar(h, 100, &d);
    sonde_histogram_observe_exemplar(h, 0.0 / 0.0, &a); /* NaN: refused, nothing recorded */
    char *t = om(r);
    CHECK_EQ_STR(line_of(t, "lat_seconds_bucket{le=\"1\"}"),
                 "lat_seconds_bucket{le=\"1\"} 2 # {trace_id=\"" TRACE_C "\",span_id=\"" SPAN_C
                 "\"} 1 1700000000.123");
    CHECK_EQ_STR(line_of(t, "lat_seconds_bucket{le=\"2\"}"),
                 "lat_seconds_bucket{le=\"2\"} 3 # {trace_id=\"" TRACE_B "\",span_id=\"" SPAN_B
                 "\"} 1.5 1700000000.123");
    CHECK_EQ_STR(line_of(t, "lat_seconds_bucket{le=\"5\"}"), "lat_seconds_bucket{le=\"5\"} 3");
    CHECK_EQ_STR(line_of(t, "lat_seconds_bucket{le=\"+Inf\"}"),
                 "lat_seconds_bucket{le=\"+Inf\"} 4 # {trace_id=\"" TRACE_D "\",span_id=\"" SPAN_D
                 "\"} 100 1700000000.123");
    CHECK_EQ_STR(line_of(t, "lat_seconds_sum"), "lat_seconds_sum 103");
    CHECK_EQ_STR(line_of(t, "lat_seconds_count"), "lat_seconds_count 4");
    free(t);
    /* text 0.0.4 never writes them */
    char *text = sonde_expose_alloc(r, SONDE_FORMAT_TEXT, NULL);
    CHECK(text && !strstr(text, "#{") && !strstr(text, " # ") && !strstr(text, "trace_id"));
    CHECK_EQ_STR(line_of(text, "lat_seconds_bucket{le=\"+Inf\"}"), "lat_seconds_bucket{le=\"+Inf\"} 4");
    free(text);
    /* the accessor for the protobuf exposition: bucket i at the child's cell + i */
    sonde_exemplar ex;
    uint32_t cell = ((sonde_child *)h)->cell;
    CHECK_EQ_INT(sonde_exemplar_load(cell + 1, &ex), 1);
    CHECK_EQ_DBL(ex.value, 1.5);
    CHECK_EQ_INT(ex.unix_ns, 1700000000123000000ull);
    CHECK(!memcmp(ex.trace_id, bb.trace_id, 16) && !memcmp(ex.span_id, bb.span_id, 8));
    CHECK_EQ_INT(sonde_exemplar_load(cell + 2, &ex), 0);
    CHECK_EQ_INT(sonde_exemplar_load(cell + 4, &ex), 0); /* the sum's cell never has one */
    sonde_registry_free(r);
    sonde_set_clock(NULL, NULL, NULL);
}

TEST(automatic_from_the_current_sampled_span)
{
    sonde_registry *r = new_registry();
    static const double b[] = {1, 2};
    sonde_histogram *h;
    sonde_counter *c;
    CHECK_EQ_INT(sonde_histogram_new(r, "d_seconds", "D.", (sonde_buckets){b, 2}, &h), SONDE_OK);
    CHECK_EQ_INT(sonde_counter_new(r, "n_total", "N.", &c), SONDE_OK);
    sonde_tracer *on = new_tracer(SONDE_SAMPLER_ALWAYS_ON), *off = new_tracer(SONDE_SAMPLER_ALWAYS_OFF);

    sonde_span *s = sonde_span_start(on, "work", SONDE_SPAN_INTERNAL, NULL);
    sonde_span *prev = sonde_span_enter(s);
    sonde_span_context sc;
    sonde_span_get_context(s, &sc);
    char trace_hex[33], span_hex[17], want[128];
    sonde_trace_id_hex(sc.trace_id, trace_hex);
    sonde_span_id_hex(sc.span_id, span_hex);
    snprintf(want, sizeof want, "# {trace_id=\"%s\",span_id=\"%s\"}", trace_hex, span_hex);
    sonde_histogram_observe(h, 0.5);
    sonde_counter_inc(c);
    /* an explicit context wins over the current span; an unsampled one means none */
    sonde_span_context x = ctx_of(TRACE_A, SPAN_A, "01"), unsampled = ctx_of(TRACE_B, SPAN_B, "00");
    sonde_histogram_observe_exemplar(h, 1.5, &x);
    sonde_histogram_observe_exemplar(h, 7, &unsampled);
    sonde_span_end(s);
    sonde_span_exit(prev);
    char *t = om(r);
    CHECK_CONTAINS(line_of(t, "d_seconds_bucket{le=\"1\"}"), want);
    CHECK_CONTAINS(line_of(t, "n_total"), want);
    CHECK_CONTAINS(line_of(t, "n_total 1 "), "} 1 ");
    CHECK_CONTAINS(line_of(t, "d_seconds_bucket{le=\"2\"}"), TRACE_A);
    CHECK_EQ_STR(line_of(t, "d_seconds_bucket{le=\"+Inf\"}"), "d_seconds_bucket{le=\"+Inf\"} 3");
    free(t);

    /* after the span: nothing attaches; an unsampled current span attaches nothing either */
    sonde_histogram_observe(h, 9);
    sonde_span *u = sonde_span_start(off, "quiet", SONDE_SPAN_INTERNAL, NULL);
    prev = sonde_span_enter(u);
    sonde_histogram_observe_n(h, 10, 3);
    sonde_counter_add(c, 4);
    sonde_span_end(u);
    sonde_span_exit(prev);
    t = om(r);
    CHECK_EQ_STR(line_of(t, "d_seconds_bucket{le=\"+Inf\"}"), "d_seconds_bucket{le=\"+Inf\"} 7");
    CHECK_CONTAINS(line_of(t, "n_total 5 "), want); /* still the sampled span's */
    free(t);

    /* a nested sampled span takes over, and the outer one is current again after it ends */
    sonde_span *outer = sonde_span_start(on, "outer", SONDE_SPAN_INTERNAL, NULL);
    sonde_span *saved = sonde_span_enter(outer);
    sonde_span *inner = sonde_span_start(on, "inner", SONDE_SPAN_INTERNAL, NULL);
    sonde_span *in_prev = sonde_span_enter(inner);
    sonde_span_context ic, oc;
    sonde_span_get_context(inner, &ic);
    sonde_span_get_context(outer, &oc);
    sonde_histogram_observe_n(h, 10, 1);
    sonde_exemplar ex;
    uint32_t cell = ((sonde_child *)h)->cell;
    CHECK_EQ_INT(sonde_exemplar_load(cell + 2, &ex), 1);
    CHECK(!memcmp(ex.span_id, ic.span_id, 8));
    sonde_span_end(inner); /* the current span: the outer one is current again */
    (void)in_prev;
    sonde_histogram_observe(h, 11);
    CHECK_EQ_INT(sonde_exemplar_load(cell + 2, &ex), 1);
    CHECK(!memcmp(ex.span_id, oc.span_id, 8) && ex.value == 11);
    sonde_span_end(outer);
    sonde_span_exit(saved);
    sonde_histogram_observe(h, 12);
    CHECK_EQ_INT(sonde_exemplar_load(cell + 2, &ex), 1);
    CHECK_EQ_DBL(ex.value, 11);

    sonde_tracer_free(on, 0);
    sonde_tracer_free(off, 0);
    sonde_registry_free(r);
}

/* A thread whose first update comes inside a sampled span: its private arena is taken while
 * the exemplar context is set, so the plain path's pointer (sonde_tls_fast) stays NULL until
 * the span stops being current, then is the arena, with no exemplar attached after it. */
typedef struct fast_job {
    sonde_tracer *t;
    sonde_counter *c;
    sonde_histogram *h;
    int null_inside, private_inside, same_after;
    uint8_t span_id[8];
} fast_job;

static void *fast_thread(void *p)
{
    fast_job *j = p;
    sonde_span *s = sonde_span_start(j->t, "first", SONDE_SPAN_INTERNAL, NULL);
    sonde_span *prev = sonde_span_enter(s);
    sonde_span_context sc;
    sonde_span_get_context(s, &sc);
    memcpy(j->span_id, sc.span_id, 8);
    sonde_counter_inc(j->c); /* the thread's first update: it takes its arena here */
    sonde_histogram_observe(j->h, 0.5);
    j->null_inside = sonde_tls_fast == NULL;
    j->private_inside = sonde_tls_private != NULL;
    sonde_span_end(s);
    sonde_span_exit(prev);
    j->same_after = sonde_tls_fast != NULL && sonde_tls_fast == sonde_tls_private;
    sonde_counter_inc(j->c);
    sonde_histogram_observe(j->h, 0.7);
    return NULL;
}

TEST(plain_path_follows_the_exemplar_context)
{
    sonde_registry *r = new_registry();
    static const double b[] = {1, 2};
    fast_job j = {.t = new_tracer(SONDE_SAMPLER_ALWAYS_ON)};
    CHECK_EQ_INT(sonde_counter_new(r, "f_total", "F.", &j.c), SONDE_OK);
    CHECK_EQ_INT(sonde_histogram_new(r, "f_seconds", "F.", (sonde_buckets){b, 2}, &j.h), SONDE_OK);
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, fast_thread, &j), 0);
    pthread_join(th, NULL);
    CHECK(j.null_inside && j.private_inside && j.same_after);
    sonde_exemplar ex;
    CHECK_EQ_INT(sonde_exemplar_load(((sonde_child *)j.c)->cell, &ex), 1);
    CHECK(!memcmp(ex.span_id, j.span_id, 8) && ex.value == 1); /* the inside one, kept */
    CHECK_EQ_DBL(sonde_counter_value(j.c), 2);
    CHECK_EQ_INT(sonde_exemplar_load(((sonde_child *)j.h)->cell, &ex), 1);
    CHECK(!memcmp(ex.span_id, j.span_id, 8) && ex.value == 0.5);
    uint64_t count;
    double sum;
    sonde_histogram_read(j.h, &count, &sum, NULL);
    CHECK(count == 2 && sum == 0.5 + 0.7);
    sonde_tracer_free(j.t, 0);
    sonde_registry_free(r);
}

TEST(invalid_contexts_record_without_exemplar)
{
    sonde_registry *r = new_registry();
    sonde_counter *c;
    CHECK_EQ_INT(sonde_counter_new(r, "k_total", "K.", &c), SONDE_OK);
    sonde_span_context zero;
    memset(&zero, 0, sizeof zero);
    zero.flags = SONDE_TRACE_FLAG_SAMPLED; /* sampled but all-zero ids: invalid */
    sonde_span_context unsampled = ctx_of(TRACE_A, SPAN_A, "00");
    CHECK_EQ_INT(sonde_counter_add_exemplar(c, 1, &zero), SONDE_OK);
    CHECK_EQ_INT(sonde_counter_add_exemplar(c, 1, &unsampled), SONDE_OK);
    CHECK_EQ_INT(sonde_counter_add_exemplar(c, 1, NULL), SONDE_OK);
    char *t = om(r);
    CHECK_EQ_STR(line_of(t, "k_total"), "k_total 3");
    free(t);
    sonde_registry_free(r);
}

TEST(by_name_forms)
{
    sonde_registry *r = new_registry();
    static const char *const names[] = {"route"};
    static const double b[] = {1};
    sonde_metric *m, *hm;
    sonde_metric_opts co = {.type = SONDE_COUNTER, .name = "req_total", .help = "R.",
                            .label_names = names, .label_count = 1};
    sonde_metric_opts ho = {.type = SONDE_HISTOGRAM, .name = "req_seconds", .help = "S.",
                            .label_names = names, .label_count = 1, .buckets = {b, 1}};
    CHECK_EQ_INT(sonde_register(r, &co, &m), SONDE_OK);
    CHECK_EQ_INT(sonde_register(r, &ho, &hm), SONDE_OK);
    sonde_span_context a = ctx_of(TRACE_A, SPAN_A, "01"), bb = ctx_of(TRACE_B, SPAN_B, "01");
    sonde_label l = {"route", "/v1/chat"};
    CHECK_EQ_INT(sonde_add_exemplar(r, "req_total", &l, 1, 3, &a), SONDE_OK);
    CHECK_EQ_INT(sonde_observe_exemplar(r, "req_seconds", &l, 1, 0.25, &bb), SONDE_OK);
    CHECK_EQ_INT(sonde_observe_exemplar(r, "missing", &l, 1, 0.25, &bb), SONDE_ENOENT);
    char *t = om(r);
    CHECK_CONTAINS(line_of(t, "req_total{route=\"/v1/chat\"} 3 "), "{trace_id=\"" TRACE_A "\"");
    CHECK_CONTAINS(line_of(t, "req_seconds_bucket{route=\"/v1/chat\",le=\"1\"} 1 "),
                   "span_id=\"" SPAN_B "\"} 0.25 ");
    free(t);
    sonde_registry_free(r);
}

TEST(removed_series_exemplars_are_gone_when_cells_are_reused)
{
    sonde_registry *r = new_registry();
    static const char *const names[] = {"k"};
    sonde_metric *m;
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "gone_total", .help = "G.",
                           .label_names = names, .label_count = 1};
    CHECK_EQ_INT(sonde_register(r, &o, &m), SONDE_OK);
    sonde_span_context a = ctx_of(TRACE_A, SPAN_A, "01");
    sonde_counter *first = sonde_counter_with(m, (const char *[]){"a"});
    uint32_t cell = ((sonde_child *)first)->cell;
    CHECK_EQ_INT(sonde_counter_add_exemplar(first, 1, &a), SONDE_OK);
    sonde_exemplar ex;
    CHECK_EQ_INT(sonde_exemplar_load(cell, &ex), 1);
    CHECK_EQ_INT(sonde_metric_remove(m, (const char *[]){"a"}), SONDE_OK);
    for (int i = 0; i < 4; i++)
        sonde_ebr_reclaim(); /* the child, then its cell range, once no reader holds them */
    CHECK_EQ_INT(sonde_exemplar_load(cell, &ex), 0);
    sonde_counter *second = sonde_counter_with(m, (const char *[]){"b"});
    CHECK_EQ_INT(((sonde_child *)second)->cell, cell); /* the range was reused */
    sonde_counter_inc(second);
    char *t = om(r);
    CHECK_EQ_STR(line_of(t, "gone_total{k=\"b\"}"), "gone_total{k=\"b\"} 1");
    free(t);
    sonde_registry_free(r);
}

int main(void)
{
    RUN(counter_latest_wins_exact_line);
    RUN(histogram_bucket_placement);
    RUN(automatic_from_the_current_sampled_span);
    RUN(plain_path_follows_the_exemplar_context);
    RUN(invalid_contexts_record_without_exemplar);
    RUN(by_name_forms);
    RUN(removed_series_exemplars_are_gone_when_cells_are_reused);
    return check_report();
}
