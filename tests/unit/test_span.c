/*
 * test_span.c - spans through a real tracer and batch processor into a test
 * exporter that copies what it receives: attributes of every type (keys of
 * one length told apart), the span limits (count, value length in
 * characters, events, event attributes),
 * invalid UTF-8, the status rules, parents (explicit context, the thread's
 * current span, remote), unsampled spans, a full queue (dropped, counted and
 * exposed as sonde_spans_dropped_total{reason}), the flush at shutdown, the
 * recent-span ring, OTEL_* variables (SDK disabled, sampler, limits,
 * malformed values ignored with a warning) and the resource.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sonde/sonde.h"

/* ---- a test exporter: keeps copies of what it got ---------------------------------- */

#define MAX_SPANS 64
typedef struct seen_span {
    char name[128];
    int kind, status;
    char status_msg[128];
    uint8_t trace_id[16], span_id[8], parent[8];
    int has_parent;
    size_t attrs, events, dropped_attrs, dropped_events;
    sonde_attr attr[8];
    char strs[8][256];
    char keys[8][64];
} seen_span;

typedef struct sink {
    pthread_mutex_t mu;
    seen_span spans[MAX_SPANS];
    size_t count, batches;
    int block;            /* 1: the exporter waits until unblocked */
    pthread_cond_t cv;
    int fail;             /* return this code */
    size_t reject;        /* partial success */
} sink;

static int sink_export(void *ud, const sonde_span *const *spans, size_t n, uint64_t deadline_ns,
                       size_t *rejected)
{
    (void)deadline_ns;
    sink *k = ud;
    pthread_mutex_lock(&k->mu);
    while (k->block)
        pthread_cond_wait(&k->cv, &k->mu);
    k->batches++;
    for (size_t i = 0; i < n && k->count < MAX_SPANS; i++) {
        seen_span *s = &k->spans[k->count++];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", sonde_span_name(spans[i]));
        s->kind = sonde_span_get_kind(spans[i]);
        const char *msg;
        s->status = sonde_span_status(spans[i], &msg);
        snprintf(s->status_msg, sizeof s->status_msg, "%s", msg);
        sonde_span_context c;
        sonde_span_get_context(spans[i], &c);
        memcpy(s->trace_id, c.trace_id, 16);
        memcpy(s->span_id, c.span_id, 8);
        s->has_parent = sonde_span_parent_id(spans[i], s->parent);
        s->attrs = sonde_span_attr_count(spans[i]);
        s->events = sonde_span_event_count(spans[i]);
        sonde_span_dropped(spans[i], &s->dropped_attrs, &s->dropped_events);
        for (size_t a = 0; a < s->attrs && a < 8; a++) {
            sonde_span_attr(spans[i], a, &s->attr[a]);
            snprintf(s->keys[a], sizeof s->keys[a], "%s", s->attr[a].key);
            s->attr[a].key = s->keys[a];
            if (s->attr[a].type == SONDE_ATTR_STRING) {
                snprintf(s->strs[a], sizeof s->strs[a], "%s", s->attr[a].v.s);
                s->attr[a].v.s = s->strs[a];
            }
        }
        CHECK(sonde_span_end_unix_ns(spans[i]) >= sonde_span_start_unix_ns(spans[i]));
    }
    if (rejected)
        *rejected = k->reject;
    int rc = k->fail;
    pthread_mutex_unlock(&k->mu);
    return rc;
}

static void sink_init(sink *k)
{
    memset(k, 0, sizeof *k);
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
}

static sonde_tracer *new_tracer(sink *k, sonde_tracer_opts *o)
{
    sonde_tracer_opts d;
    if (!o) {
        sonde_tracer_opts_init(&d);
        o = &d;
    }
    o->read_env = 0;
    o->exporter = (sonde_span_exporter){sink_export, NULL, k};
    sonde_tracer *t = NULL;
    CHECK_EQ_INT(sonde_tracer_new(o, &t), SONDE_OK);
    CHECK(t != NULL);
    return t;
}

/* A tracer into k whose recent ring holds `recent` spans (k initialised here). */
static sonde_tracer *recent_tracer(sink *k, int recent)
{
    sink_init(k);
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.recent_spans = recent;
    return new_tracer(k, &o);
}

static const seen_span *find(sink *k, const char *name)
{
    for (size_t i = 0; i < k->count; i++)
        if (strcmp(k->spans[i].name, name) == 0)
            return &k->spans[i];
    return NULL;
}

TEST(attributes_and_flush)
{
    sink k;
    sink_init(&k);
    sonde_tracer *t = new_tracer(&k, NULL);
    sonde_span *s = sonde_span_start(t, "chat gpt-4o-mini", SONDE_SPAN_CLIENT, NULL);
    CHECK(sonde_span_is_recording(s));
    sonde_span_set_str(s, "gen_ai.operation.name", "chat");
    sonde_span_set_int(s, "gen_ai.usage.output_tokens", 128);
    sonde_span_set_double(s, "temperature", 0.5);
    sonde_span_set_bool(s, "stream", 1);
    sonde_span_set_int(s, "gen_ai.usage.output_tokens", 129); /* replaces */
    sonde_span_set_str(s, "", "ignored");                       /* empty key */
    sonde_span_set_str(s, NULL, "ignored");
    sonde_span_set_str(s, "null", NULL);
    sonde_span_set_name(s, "chat gpt-4o");
    sonde_span_end(s);
    CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    CHECK_EQ_INT(k.count, 1);
    const seen_span *x = find(&k, "chat gpt-4o");
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ_INT(x->kind, SONDE_SPAN_CLIENT);
        CHECK_EQ_INT(x->attrs, 4);
        CHECK_EQ_STR(x->attr[0].key, "gen_ai.operation.name");
        CHECK_EQ_STR(x->attr[0].v.s, "chat");
        CHECK_EQ_INT(x->attr[1].type, SONDE_ATTR_INT);
        CHECK_EQ_INT(x->attr[1].v.i, 129);
        CHECK_EQ_DBL(x->attr[2].v.d, 0.5);
        CHECK_EQ_INT(x->attr[3].v.b, 1);
        CHECK(!x->has_parent);
    }
    sonde_tracer_stats st;
    sonde_tracer_stats_get(t, &st);
    CHECK_EQ_INT(st.exported, 1);
    sonde_tracer_free(t, 5000);
}

/* Keys of one length (and of one length modulo 64, the span's quick test for a new key) are
 * told apart by their bytes: each is kept with its own value, whichever setter stored it, and
 * a key set again has its value replaced in place. */
TEST(attributes_of_one_key_length)
{
    sink k;
    sink_init(&k);
    sonde_tracer *t = new_tracer(&k, NULL);
    char long_key[69]; /* 68 bytes: 4 + 64 */
    memset(long_key, 'k', 68);
    long_key[68] = '\0';
    sonde_span *s = sonde_span_start(t, "keys", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_set_str(s, "ab.x", "one");
    sonde_span_set_int(s, "ab.y", 2);
    sonde_span_set_str(s, "cd.x", "three");
    sonde_span_set_str(s, long_key, "four");
    sonde_span_set_int(s, "ab.x", 5); /* replaces "one" */
    sonde_span_set_str(s, "ab.z", "six");
    sonde_span_set_str(s, "ab.y", "seven"); /* replaces 2 */
    sonde_span_end(s);
    CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    const seen_span *x = find(&k, "keys");
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ_INT(x->attrs, 5);
        CHECK_EQ_STR(x->attr[0].key, "ab.x");
        CHECK_EQ_INT(x->attr[0].type, SONDE_ATTR_INT);
        CHECK_EQ_INT(x->attr[0].v.i, 5);
        CHECK_EQ_STR(x->attr[1].key, "ab.y");
        CHECK_EQ_INT(x->attr[1].type, SONDE_ATTR_STRING);
        CHECK_EQ_STR(x->attr[1].v.s, "seven");
        CHECK_EQ_STR(x->attr[2].key, "cd.x");
        CHECK_EQ_STR(x->attr[2].v.s, "three");
        CHECK(strncmp(x->attr[3].key, long_key, sizeof x->keys[3] - 1) == 0);
        CHECK_EQ_STR(x->attr[3].v.s, "four");
        CHECK_EQ_STR(x->attr[4].key, "ab.z");
        CHECK_EQ_STR(x->attr[4].v.s, "six");
    }
    sonde_tracer_free(t, 5000);
}

TEST(span_limits)
{
    sink k;
    sink_init(&k);
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.attribute_count_limit = 3;
    o.attribute_value_length_limit = 5;
    o.event_count_limit = 2;
    o.event_attribute_count_limit = 1;
    sonde_tracer *t = new_tracer(&k, &o);
    sonde_span *s = sonde_span_start(t, "limited", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_set_str(s, "a", "h\xc3\xa9llo world"); /* 5 characters: "héllo" */
    sonde_span_set_str(s, "b", "bad \xff\xfe utf8");
    sonde_span_set_int(s, "c", 3);
    sonde_span_set_int(s, "d", 4);                   /* over the count: dropped */
    sonde_span_set_int(s, "e", 5);
    sonde_span_set_int(s, "a", 1);                   /* an existing key still updates */
    sonde_attr ev[2] = {SONDE_ATTR_INT("x", 1), SONDE_ATTR_INT("y", 2)};
    for (int i = 0; i < 4; i++)
        sonde_span_add_event(s, "tick", ev, 2);
    sonde_span_end(s);
    sonde_tracer_flush(t, 10000);
    const seen_span *x = find(&k, "limited");
    CHECK(x != NULL);
    if (x) {
        CHECK_EQ_INT(x->attrs, 3);
        CHECK_EQ_INT(x->dropped_attrs, 2);
        CHECK_EQ_INT(x->attr[0].type, SONDE_ATTR_INT);
        CHECK_EQ_INT(x->attr[0].v.i, 1);
        CHECK_EQ_STR(x->attr[1].v.s, "bad \xef\xbf\xbd"); /* cut at 5 chars, U+FFFD */
        CHECK_EQ_INT(x->events, 2);
        CHECK_EQ_INT(x->dropped_events, 2);
    }
    sonde_tracer_free(t, 5000);
    /* the value length counts characters, not bytes */
    sink_init(&k);
    t = new_tracer(&k, &o);
    s = sonde_span_start(t, "chars", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_set_str(s, "a", "h\xc3\xa9llo world");
    sonde_span_end(s);
    sonde_tracer_flush(t, 10000);
    x = find(&k, "chars");
    CHECK(x && strcmp(x->attr[0].v.s, "h\xc3\xa9llo") == 0);
    /* encoded: the dropped counts travel in OTLP */
    sonde_tracer_free(t, 5000);
}

/* Names and values of every length around the word-at-a-time copy (8-byte steps, the 64-byte
 * short-string path), cut by the value-length limit at every length, and a key with bad
 * bytes set twice (compared as stored: one attribute). */
TEST(string_lengths)
{
    sink k;
    sink_init(&k);
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.attribute_value_length_limit = 9;
    o.max_queue_size = 256;
    sonde_tracer *t = new_tracer(&k, &o);
    char text[128];
    for (int i = 0; i < 127; i++)
        text[i] = (char)('!' + i % 90);
    for (int len = 0; len < MAX_SPANS - 1; len++) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", len + 40, text + 1); /* 40..102 bytes, from a non-'!' start */
        sonde_span *s = sonde_span_start(t, name, SONDE_SPAN_INTERNAL, NULL);
        char value[64];
        snprintf(value, sizeof value, "%.*s", len % 20, text);
        sonde_span_set_str(s, "v", value);
        sonde_span_set_str(s, "k\xff", "first");
        sonde_span_set_str(s, "k\xff", "second");
        sonde_span_end(s);
    }
    CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    CHECK_EQ_INT(k.count, MAX_SPANS - 1);
    for (int len = 0; len < (int)k.count; len++) {
        const seen_span *x = &k.spans[len];
        CHECK_EQ_INT(strlen(x->name), len + 40);
        CHECK(strncmp(x->name, text + 1, strlen(x->name)) == 0);
        CHECK_EQ_INT(x->attrs, 2);
        size_t want = (size_t)(len % 20) < 9 ? (size_t)(len % 20) : 9;
        CHECK_EQ_INT(strlen(x->attr[0].v.s), want);
        CHECK(strncmp(x->attr[0].v.s, text, want) == 0);
        CHECK_EQ_STR(x->attr[1].key, "k\xef\xbf\xbd");
        CHECK_EQ_STR(x->attr[1].v.s, "second");
    }
    sonde_tracer_free(t, 5000);
}

/* Names, keys and values of every length around the 32-byte copy of short strings, ending at
 * many distances from the end of a page that is followed by an unreadable one, all ASCII or
 * with a byte that is not (stored as U+FFFD): each stored whole, nothing read past the page. */
TEST(short_strings_at_page_end)
{
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED);
    CHECK_EQ_INT(mprotect(map + page, (size_t)page, PROT_NONE), 0); /* a read past the page faults */
    sink k;
    sink_init(&k);
    sonde_tracer *t = new_tracer(&k, NULL);
    for (size_t len = 0; len <= 40; len++) {
        char want[24][48];
        int spans = 0;
        for (size_t gap = 0; gap < 34; gap += 3) { /* bytes between the terminator and the page end */
            for (int bad = 0; bad < 2; bad++, spans++) {
                char *str = map + page - 1 - gap - len;
                char *w = want[spans];
                for (size_t i = 0; i < len; i++) {
                    str[i] = (char)('a' + (i * 7 + len + gap) % 26);
                    if (bad && i == len / 2) {
                        str[i] = (char)0xff;
                        memcpy(w, "\xef\xbf\xbd", 3);
                        w += 3;
                    } else {
                        *w++ = str[i];
                    }
                }
                str[len] = '\0';
                *w = '\0';
                sonde_span *sp = sonde_span_start(t, str, SONDE_SPAN_INTERNAL, NULL);
                sonde_span_set_str(sp, str, str); /* the empty key is refused */
                sonde_span_end(sp);
            }
        }
        CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
        pthread_mutex_lock(&k.mu);
        CHECK_EQ_INT(k.count, spans);
        for (int i = 0; i < spans && i < (int)k.count; i++) {
            CHECK_EQ_STR(k.spans[i].name, want[i]);
            CHECK_EQ_INT(k.spans[i].attrs, len ? 1 : 0);
            if (len && k.spans[i].attrs) {
                CHECK_EQ_STR(k.spans[i].attr[0].key, want[i]);
                CHECK_EQ_STR(k.spans[i].attr[0].v.s, want[i]);
            }
        }
        k.count = 0;
        pthread_mutex_unlock(&k.mu);
    }
    sonde_tracer_free(t, 5000);
    munmap(map, (size_t)page * 2);
}

TEST(status_rules)
{
    sink k;
    sink_init(&k);
    sonde_tracer *t = new_tracer(&k, NULL);
    sonde_span *a = sonde_span_start(t, "err-then-ok", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_set_status(a, SONDE_STATUS_ERROR, "boom");
    sonde_span_set_status(a, SONDE_STATUS_OK, "ignored message");
    sonde_span_end(a);
    sonde_span *b = sonde_span_start(t, "ok-is-final", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_set_status(b, SONDE_STATUS_OK, NULL);
    sonde_span_set_status(b, SONDE_STATUS_ERROR, "too late");
    sonde_span_end(b);
    sonde_span *c = sonde_span_start(t, "error", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_set_status(c, SONDE_STATUS_ERROR, "first");
    sonde_span_set_status(c, SONDE_STATUS_UNSET, NULL);
    sonde_span_set_status(c, SONDE_STATUS_ERROR, "second");
    sonde_span_end(c);
    sonde_tracer_flush(t, 10000);
    const seen_span *x = find(&k, "err-then-ok");
    CHECK(x && x->status == SONDE_STATUS_OK && x->status_msg[0] == '\0');
    x = find(&k, "ok-is-final");
    CHECK(x && x->status == SONDE_STATUS_OK);
    x = find(&k, "error");
    CHECK(x && x->status == SONDE_STATUS_ERROR && strcmp(x->status_msg, "second") == 0);
    sonde_tracer_free(t, 5000);
}

TEST(parents_and_current_span)
{
    sink k;
    sink_init(&k);
    sonde_tracer *t = new_tracer(&k, NULL);
    uint8_t tid[16], sid[8];
    CHECK_EQ_INT(sonde_trace_current_ids(tid, sid), 0);
    sonde_span *root = sonde_span_start(t, "root", SONDE_SPAN_SERVER, NULL);
    CHECK(sonde_span_enter(root) == NULL);
    CHECK(sonde_span_current() == root);
    sonde_span_context rc;
    sonde_span_get_context(root, &rc);
    CHECK_EQ_INT(sonde_trace_current_ids(tid, sid), 1);
    CHECK(memcmp(tid, rc.trace_id, 16) == 0 && memcmp(sid, rc.span_id, 8) == 0);
    sonde_span *child = sonde_span_start(t, "child", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_enter(child);
    sonde_span *grandchild = sonde_span_start(t, "grandchild", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_end(grandchild);
    sonde_span_end(child); /* ending the current span restores its predecessor */
    CHECK(sonde_span_current() == root);
    /* an explicit context wins over the current span */
    sonde_span_context remote;
    sonde_traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "k=v",
                            &remote);
    sonde_span *other = sonde_span_start(t, "remote-child", SONDE_SPAN_SERVER, &remote);
    char tp[SONDE_TRACEPARENT_LEN + 1];
    CHECK_EQ_INT(sonde_span_traceparent(other, tp), SONDE_OK);
    CHECK(strncmp(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36) == 0 && tp[54] == '1');
    sonde_span_context oc;
    sonde_span_get_context(other, &oc);
    CHECK_EQ_STR(oc.tracestate, "k=v");
    sonde_span_end(other);
    /* an invalid context is a new trace */
    sonde_span_context zero;
    memset(&zero, 0, sizeof zero);
    sonde_span *fresh = sonde_span_start(t, "fresh", SONDE_SPAN_SERVER, &zero);
    sonde_span_end(fresh);
    sonde_span_exit(NULL);
    sonde_span_end(root);
    CHECK(sonde_span_current() == NULL);
    sonde_tracer_flush(t, 10000);
    const seen_span *r = find(&k, "root"), *c = find(&k, "child"), *g = find(&k, "grandchild");
    const seen_span *o = find(&k, "remote-child"), *f = find(&k, "fresh");
    CHECK(r && c && g && o && f);
    if (r && c && g && o && f) {
        CHECK(!r->has_parent);
        CHECK(c->has_parent && memcmp(c->parent, r->span_id, 8) == 0);
        CHECK(g->has_parent && memcmp(g->parent, c->span_id, 8) == 0);
        CHECK(memcmp(g->trace_id, r->trace_id, 16) == 0);
        CHECK(o->has_parent && o->parent[0] == 0x00 && o->parent[1] == 0xf0);
        CHECK(o->trace_id[0] == 0x4b);
        CHECK(!f->has_parent && memcmp(f->trace_id, r->trace_id, 16) != 0);
    }
    sonde_tracer_free(t, 5000);
}

TEST(unsampled_spans)
{
    sink k;
    sink_init(&k);
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.sampler = SONDE_SAMPLER_PARENTBASED_ALWAYS_OFF;
    sonde_tracer *t = new_tracer(&k, &o);
    sonde_span *s = sonde_span_start(t, "quiet", SONDE_SPAN_SERVER, NULL);
    CHECK(s != NULL);
    CHECK(!sonde_span_is_recording(s));
    sonde_span_set_str(s, "k", "v");
    sonde_span_add_event(s, "e", NULL, 0);
    char tp[SONDE_TRACEPARENT_LEN + 1];
    CHECK_EQ_INT(sonde_span_traceparent(s, tp), SONDE_OK);
    CHECK(tp[53] == '0' && tp[54] == '0'); /* propagated, not sampled */
    sonde_span_enter(s);
    uint8_t tid[16], sid[8];
    CHECK_EQ_INT(sonde_trace_current_ids(tid, sid), 0); /* no exemplar for it */
    sonde_span *child = sonde_span_start(t, "quiet child", SONDE_SPAN_CLIENT, NULL);
    sonde_span_context cc, pc;
    sonde_span_get_context(child, &cc);
    sonde_span_get_context(s, &pc);
    CHECK(memcmp(cc.trace_id, pc.trace_id, 16) == 0);
    sonde_span_end(child);
    sonde_span_end(s);
    /* a sampled remote parent is followed by the parent-based sampler */
    sonde_span_context remote;
    sonde_traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL,
                            &remote);
    sonde_span *loud = sonde_span_start(t, "loud", SONDE_SPAN_SERVER, &remote);
    CHECK(sonde_span_is_recording(loud));
    sonde_span_end(loud);
    sonde_tracer_flush(t, 10000);
    CHECK_EQ_INT(k.count, 1);
    CHECK(find(&k, "loud") != NULL);
    sonde_tracer_free(t, 5000);
}

TEST(queue_full_drops_and_counts)
{
    sink k;
    sink_init(&k);
    k.block = 1; /* the exporter is stuck: the queue fills */
    sonde_registry *reg;
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    CHECK_EQ_INT(sonde_registry_new(&cfg, &reg), SONDE_OK);
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.max_queue_size = 8;
    o.max_export_batch_size = 4;
    o.schedule_delay_ms = 1;
    o.registry = reg;
    sonde_tracer *t = new_tracer(&k, &o);
    for (int i = 0; i < 100; i++)
        sonde_span_end(sonde_span_start(t, "burst", SONDE_SPAN_INTERNAL, NULL));
    sonde_tracer_stats st;
    sonde_tracer_stats_get(t, &st);
    /* the thread holds at most one batch (4) in the stuck exporter, the queue 8 more */
    CHECK(st.dropped_queue_full >= 100 - 8 - 4);
    CHECK(st.dropped_queue_full <= 100 - 8);
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_TEXT, NULL);
    char want[96];
    snprintf(want, sizeof want, "sonde_spans_dropped_total{reason=\"queue_full\"} %llu\n",
             (unsigned long long)st.dropped_queue_full);
    CHECK_CONTAINS(text, want);
    CHECK_CONTAINS(text, "# TYPE sonde_spans_dropped_total counter\n");
    free(text);
    pthread_mutex_lock(&k.mu);
    k.block = 0;
    pthread_cond_broadcast(&k.cv);
    pthread_mutex_unlock(&k.mu);
    CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    sonde_tracer_stats_get(t, &st);
    CHECK_EQ_INT(st.exported + st.dropped_queue_full, 100);
    sonde_tracer_free(t, 5000);
    sonde_registry_free(reg);
}

TEST(export_failures_and_partial_success)
{
    sink k;
    sink_init(&k);
    k.fail = SONDE_EIO;
    sonde_tracer *t = new_tracer(&k, NULL);
    for (int i = 0; i < 3; i++)
        sonde_span_end(sonde_span_start(t, "lost", SONDE_SPAN_INTERNAL, NULL));
    sonde_tracer_flush(t, 10000);
    sonde_tracer_stats st;
    sonde_tracer_stats_get(t, &st);
    CHECK_EQ_INT(st.dropped_export_failed, 3);
    CHECK_EQ_INT(st.exported, 0);
    k.fail = 0;
    k.reject = 2;
    for (int i = 0; i < 5; i++)
        sonde_span_end(sonde_span_start(t, "partly", SONDE_SPAN_INTERNAL, NULL));
    sonde_tracer_flush(t, 10000);
    sonde_tracer_stats_get(t, &st);
    CHECK_EQ_INT(st.dropped_rejected, 2);
    CHECK_EQ_INT(st.exported, 3);
    sonde_tracer_free(t, 5000);
}

TEST(shutdown_flushes)
{
    sink k;
    sink_init(&k);
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.schedule_delay_ms = 3600000; /* only the shutdown exports */
    sonde_tracer *t = new_tracer(&k, &o);
    for (int i = 0; i < 5; i++)
        sonde_span_end(sonde_span_start(t, "late", SONDE_SPAN_INTERNAL, NULL));
    CHECK_EQ_INT(k.count, 0);
    sonde_tracer_free(t, 10000);
    CHECK_EQ_INT(k.count, 5);
}

TEST(recent_ring)
{
    sink k;
    sonde_tracer *t = recent_tracer(&k, 4);
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof name, "op%d", i % 2);
        sonde_span *s = sonde_span_start(t, name, SONDE_SPAN_INTERNAL, NULL);
        sonde_span_set_int(s, "i", i);
        if (i == 3)
            sonde_span_set_status(s, SONDE_STATUS_ERROR, "odd failure");
        sonde_span_end(s);
    }
    sonde_tracer_flush(t, 10000);
    sonde_span_summary out[16];
    size_t n = sonde_tracer_recent(t, SONDE_RECENT_LATEST, out, 16);
    CHECK_EQ_INT(n, 4); /* bounded by the ring */
    CHECK_EQ_STR(out[0].name, "op1");
    CHECK(out[0].end_unix_ns >= out[1].end_unix_ns); /* newest first */
    n = sonde_tracer_recent(t, SONDE_RECENT_ERRORS, out, 16);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_STR(out[0].status_message, "odd failure");
    n = sonde_tracer_recent(t, SONDE_RECENT_SLOWEST, out, 16);
    CHECK_EQ_INT(n, 6); /* 3 per name, under SONDE_RECENT_PER_NAME */
    CHECK_EQ_INT(sonde_tracer_recent(t, SONDE_RECENT_LATEST, out, 1), 1);
    sonde_tracer_free(t, 5000);
}

/* More latest spans than are held whole (cap > 512): the older ones are summarised as they
 * leave the held ring, a batch longer than the held ring included; the latest read is the
 * same, newest first, however the export thread cut the batches. */
TEST(recent_ring_past_held)
{
    sink k;
    sink_init(&k);
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.recent_spans = 600;
    o.max_queue_size = 2048;
    o.max_export_batch_size = 1024;
    sonde_tracer *t = new_tracer(&k, &o);
    int next = 0;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < (round ? 700 : 300); i++) {
            char name[16];
            snprintf(name, sizeof name, "s%d", next++);
            sonde_span_end(sonde_span_start(t, name, SONDE_SPAN_INTERNAL, NULL));
        }
        CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    }
    static sonde_span_summary out[700];
    size_t n = sonde_tracer_recent(t, SONDE_RECENT_LATEST, out, 700);
    CHECK_EQ_INT(n, 600);
    int in_order = 1;
    for (size_t i = 0; i < n; i++) {
        char want[16];
        snprintf(want, sizeof want, "s%d", next - 1 - (int)i);
        in_order &= strcmp(out[i].name, want) == 0;
    }
    CHECK(in_order);
    sonde_tracer_free(t, 5000);
}

static void busy_ns(uint64_t ns)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do
        clock_gettime(CLOCK_MONOTONIC, &b);
    while ((uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull + (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec < ns);
}

/* The export thread reads only the spans marked for it (the slot's hint says a span may be
 * among its name's slowest, or it failed, or its name has no hint): for 40 names (short ones
 * that share hint buckets among them, one longer than a hint holds, one not ASCII), the one
 * slow span of each, ended between many fast ones after the slot has filled, is among its
 * name's slowest, and the failed one among its errors. */
TEST(recent_slowest_of_many_names)
{
    sink k;
    sonde_tracer *t = recent_tracer(&k, 4);
    enum { NAMES = 40 };
    char names[NAMES][64];
    for (int i = 0; i < NAMES; i++)
        snprintf(names[i], sizeof names[i], "op%d", i);
    snprintf(names[0], sizeof names[0], "a span name longer than a hint holds %d", 0);
    snprintf(names[1], sizeof names[1], "r\xc3\xa9sum\xc3\xa9");
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < NAMES; i++) {
            for (int j = 0; j < 8; j++) {
                sonde_span *s = sonde_span_start(t, names[i], SONDE_SPAN_INTERNAL, NULL);
                if (round == 1 && j == 4)
                    busy_ns(2000000); /* the slow one */
                if (round == 2 && j == 4 && i == 7)
                    sonde_span_set_status(s, SONDE_STATUS_ERROR, "late failure");
                sonde_span_end(s);
            }
            CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
        }
    }
    static sonde_span_summary out[NAMES * SONDE_RECENT_PER_NAME];
    size_t n = sonde_tracer_recent(t, SONDE_RECENT_SLOWEST, out, NAMES * SONDE_RECENT_PER_NAME);
    CHECK_EQ_INT(n, NAMES * SONDE_RECENT_PER_NAME);
    int slow_kept = 0;
    for (int i = 0; i < NAMES; i++) {
        int found = 0;
        for (size_t m = 0; m < n; m++)
            found |= strcmp(out[m].name, names[i]) == 0 &&
                     out[m].end_unix_ns - out[m].start_unix_ns >= 2000000;
        slow_kept += found;
    }
    CHECK_EQ_INT(slow_kept, NAMES);
    n = sonde_tracer_recent(t, SONDE_RECENT_ERRORS, out, NAMES * SONDE_RECENT_PER_NAME);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_STR(out[0].name, "op7");
    CHECK_EQ_STR(out[0].status_message, "late failure");
    sonde_tracer_free(t, 5000);
}

typedef struct visited {
    size_t spans, attrs;
    char model[64];
} visited;

static void visit(void *ud, const sonde_span *s)
{
    visited *v = ud;
    v->spans++;
    v->attrs = sonde_span_attr_count(s);
    sonde_attr a;
    if (sonde_span_attr(s, 1, &a) == SONDE_OK && a.type == SONDE_ATTR_STRING)
        snprintf(v->model, sizeof v->model, "%s", a.v.s);
}

/* A span held whole for the trace view reads as it was ended, until newer spans push it
 * out of the held ring (its object then goes back to the pool and is reused). */
TEST(recent_trace_held_whole)
{
    sink k;
    sonde_tracer *t = recent_tracer(&k, 4);
    sonde_span *s = sonde_span_start(t, "chat", SONDE_SPAN_CLIENT, NULL);
    sonde_span_set_str(s, "gen_ai.operation.name", "chat");
    sonde_span_set_str(s, "gen_ai.request.model", "gpt-4o-mini");
    sonde_span_set_int(s, "gen_ai.usage.output_tokens", 128);
    sonde_span_context ctx;
    sonde_span_get_context(s, &ctx);
    sonde_span_end(s);
    CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    visited v = {0};
    CHECK_EQ_INT(sonde_tracer_trace(t, ctx.trace_id, visit, &v), 1);
    CHECK_EQ_INT(v.attrs, 3);
    CHECK_EQ_STR(v.model, "gpt-4o-mini");
    for (int i = 0; i < 20; i++) {
        sonde_span *x = sonde_span_start(t, "other", SONDE_SPAN_INTERNAL, NULL);
        sonde_span_set_str(x, "gen_ai.request.model", "another-model");
        sonde_span_end(x);
        if (i % 5 == 4)
            CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    }
    memset(&v, 0, sizeof v);
    CHECK_EQ_INT(sonde_tracer_trace(t, ctx.trace_id, visit, &v), 0);
    CHECK_EQ_INT(v.spans, 0);
    sonde_tracer_free(t, 5000);
}

typedef struct times_sink {
    pthread_mutex_t mu;
    uint64_t start[256], end[256], event[256];
    size_t count;
} times_sink;

static int times_export(void *ud, const sonde_span *const *spans, size_t n, uint64_t deadline_ns,
                        size_t *rejected)
{
    (void)deadline_ns, (void)rejected;
    times_sink *k = ud;
    pthread_mutex_lock(&k->mu);
    for (size_t i = 0; i < n && k->count < 256; i++, k->count++) {
        k->start[k->count] = sonde_span_start_unix_ns(spans[i]);
        k->end[k->count] = sonde_span_end_unix_ns(spans[i]);
        sonde_span_event(spans[i], 0, NULL, &k->event[k->count], NULL);
    }
    pthread_mutex_unlock(&k->mu);
    return SONDE_OK;
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Span and event times are Unix ns of the wall clock, whatever reads them (the span clock
 * extrapolates the TSC between wall clock reads where it can): each lies between wall clock
 * reads taken before and after it, within 0.2 ms, over spans spread across more than the
 * clock's first rate measure and many of its anchors. */
TEST(span_times_follow_the_wall_clock)
{
    times_sink k = {.count = 0};
    pthread_mutex_init(&k.mu, NULL);
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.read_env = 0;
    o.exporter = (sonde_span_exporter){times_export, NULL, &k};
    sonde_tracer *t = NULL;
    CHECK_EQ_INT(sonde_tracer_new(&o, &t), SONDE_OK);
    static uint64_t before[200], after[200];
    for (int i = 0; i < 200; i++) {
        before[i] = wall_ns();
        sonde_span *s = sonde_span_start(t, "timed", SONDE_SPAN_INTERNAL, NULL);
        sonde_span_add_event(s, "tick", NULL, 0);
        sonde_span_end(s);
        after[i] = wall_ns();
        while (wall_ns() - before[i] < 250000) /* spread across the clock's anchors */
            ;
    }
    CHECK_EQ_INT(sonde_tracer_flush(t, 10000), SONDE_OK);
    CHECK_EQ_INT(k.count, 200);
    int within = 1;
    const uint64_t tol = 200000;
    for (int i = 0; i < 200; i++)
        within &= k.start[i] + tol >= before[i] && k.start[i] <= k.event[i] + tol &&
                  k.event[i] <= k.end[i] + tol && k.end[i] >= k.start[i] && k.end[i] <= after[i] + tol;
    CHECK(within);
    sonde_tracer_free(t, 5000);
}

/* An exporter that keeps the OTLP encoding of its last batch. */
typedef struct encoded {
    char *body;
    size_t len;
} encoded;

static int encode_export(void *ud, const sonde_span *const *spans, size_t n, uint64_t deadline_ns,
                         size_t *rejected)
{
    (void)deadline_ns;
    (void)rejected;
    encoded *e = ud;
    free(e->body);
    return sonde_trace_encode_otlp(spans, n, &e->body, &e->len);
}

TEST(environment)
{
    sonde_tracer *t = (sonde_tracer *)1;
    setenv("OTEL_SDK_DISABLED", "true", 1);
    CHECK_EQ_INT(sonde_tracer_new(NULL, &t), SONDE_OK);
    CHECK(t == NULL);
    CHECK(sonde_span_start(t, "x", SONDE_SPAN_INTERNAL, NULL) == NULL);
    unsetenv("OTEL_SDK_DISABLED");

    sonde_logger_opts lo;
    sonde_logger_opts_init(&lo);
    lo.read_env = 0;
    lo.path = "";
    sonde_logger *lg;
    CHECK_EQ_INT(sonde_logger_new(&lo, &lg), SONDE_OK);
    sink k;
    sink_init(&k);
    setenv("OTEL_TRACES_SAMPLER", "traceidratio", 1);
    setenv("OTEL_TRACES_SAMPLER_ARG", "0", 1);
    setenv("OTEL_BSP_MAX_QUEUE_SIZE", "lots", 1);           /* malformed: warned, default */
    setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "1", 1);
    setenv("OTEL_SERVICE_NAME", "svc", 1);
    setenv("OTEL_RESOURCE_ATTRIBUTES", "a=1,b=%zz", 1);     /* malformed: all ignored */
    sonde_tracer_opts o;
    sonde_tracer_opts_init(&o);
    o.logger = lg;
    o.exporter = (sonde_span_exporter){sink_export, NULL, &k};
    CHECK_EQ_INT(sonde_tracer_new(&o, &t), SONDE_OK);
    sonde_span *s = sonde_span_start(t, "never", SONDE_SPAN_INTERNAL, NULL);
    CHECK(!sonde_span_is_recording(s)); /* ratio 0 */
    sonde_span_end(s);
    char *lines[8];
    char buf[8][512];
    for (int i = 0; i < 8; i++)
        lines[i] = buf[i];
    size_t n = sonde_log_recent(lg, lines, 512, 8);
    CHECK_EQ_INT(n, 2);
    CHECK_CONTAINS(buf[0], "\"variable\":\"OTEL_RESOURCE_ATTRIBUTES\""); /* newest first */
    CHECK_CONTAINS(buf[1], "\"variable\":\"OTEL_BSP_MAX_QUEUE_SIZE\",\"value\":\"lots\"");
    sonde_tracer_free(t, 5000);
    /* code beats the environment; the limit came from the environment */
    o.sampler = SONDE_SAMPLER_ALWAYS_ON;
    CHECK_EQ_INT(sonde_tracer_new(&o, &t), SONDE_OK);
    s = sonde_span_start(t, "now", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_set_int(s, "one", 1);
    sonde_span_set_int(s, "two", 2);
    sonde_span_end(s);
    sonde_tracer_flush(t, 10000);
    const seen_span *x = find(&k, "now");
    CHECK(x && x->attrs == 1 && x->dropped_attrs == 1);
    /* the resource of the encoding: OTEL_SERVICE_NAME */
    sonde_tracer_free(t, 5000);
    setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,k=caf%C3%A9%20au%20lait", 1);
    unsetenv("OTEL_SERVICE_NAME");
    encoded enc = {0};
    o.exporter = (sonde_span_exporter){encode_export, NULL, &enc};
    CHECK_EQ_INT(sonde_tracer_new(&o, &t), SONDE_OK);
    s = sonde_span_start(t, "enc", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_end(s);
    sonde_tracer_flush(t, 10000);
    sonde_tracer_free(t, 5000);
    CHECK(enc.len > 0);
    CHECK(memmem(enc.body, enc.len, "from-attrs", 10) != NULL);
    CHECK(memmem(enc.body, enc.len, "caf\xc3\xa9 au lait", 13) != NULL);
    free(enc.body);
    enc.body = NULL;
    /* the metrics' config: its service, version and environment labels fill the resource
     * when nothing else names them (here OTEL_RESOURCE_ATTRIBUTES still names service.name) */
    sonde_config cfg;
    sonde_config_init(&cfg);
    sonde_label labels[3] = {{"service", "from-config"}, {"version", "9.9"}, {"environment", "staging"}};
    cfg.global_labels = labels;
    cfg.global_label_count = 3;
    o.config = &cfg;
    CHECK_EQ_INT(sonde_tracer_new(&o, &t), SONDE_OK);
    sonde_span_end(sonde_span_start(t, "cfg", SONDE_SPAN_INTERNAL, NULL));
    sonde_tracer_free(t, 5000);
    CHECK(memmem(enc.body, enc.len, "from-attrs", 10) != NULL);
    CHECK(memmem(enc.body, enc.len, "from-config", 11) == NULL);
    CHECK(memmem(enc.body, enc.len, "deployment.environment", 22) != NULL);
    CHECK(memmem(enc.body, enc.len, "staging", 7) != NULL);
    CHECK(memmem(enc.body, enc.len, "9.9", 3) != NULL);
    free(enc.body);
    enc.body = NULL;
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    CHECK_EQ_INT(sonde_tracer_new(&o, &t), SONDE_OK);
    sonde_span_end(sonde_span_start(t, "cfg", SONDE_SPAN_INTERNAL, NULL));
    sonde_tracer_free(t, 5000);
    CHECK(memmem(enc.body, enc.len, "from-config", 11) != NULL);
    free(enc.body);
    unsetenv("OTEL_TRACES_SAMPLER");
    unsetenv("OTEL_TRACES_SAMPLER_ARG");
    unsetenv("OTEL_BSP_MAX_QUEUE_SIZE");
    unsetenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT");
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    sonde_logger_free(lg, 0);
}

int main(void)
{
    RUN(attributes_and_flush);
    RUN(attributes_of_one_key_length);
    RUN(span_limits);
    RUN(string_lengths);
    RUN(short_strings_at_page_end);
    RUN(status_rules);
    RUN(parents_and_current_span);
    RUN(unsampled_spans);
    RUN(queue_full_drops_and_counts);
    RUN(export_failures_and_partial_success);
    RUN(shutdown_flushes);
    RUN(recent_ring);
    RUN(recent_ring_past_held);
    RUN(recent_slowest_of_many_names);
    RUN(recent_trace_held_whole);
    RUN(span_times_follow_the_wall_clock);
    RUN(environment);
    return check_report();
}
