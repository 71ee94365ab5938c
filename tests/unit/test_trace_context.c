/*
 * test_trace_context.c - W3C Trace Context and the samplers. traceparent
 * vectors after the W3C test suite (valid, version ff, future versions with
 * and without extra fields, uppercase hex, all-zero ids, bad lengths and
 * characters, OWS); tracestate (32 members, key and value grammar, duplicates,
 * empty members, the 512-byte cut); round trips; and the sampler decisions
 * on known trace ids (ratio 0, 1, 0.5, 0.25, parent-based cases).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sonde/sonde.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SID "00f067aa0ba902b7"

static int parses(const char *tp)
{
    sonde_span_context c;
    return sonde_traceparent_parse(tp, NULL, &c) == SONDE_OK;
}

TEST(traceparent_valid)
{
    sonde_span_context c;
    CHECK_EQ_INT(sonde_traceparent_parse("00-" TID "-" SID "-01", NULL, &c), SONDE_OK);
    char hex[33];
    sonde_trace_id_hex(c.trace_id, hex);
    CHECK_EQ_STR(hex, TID);
    sonde_span_id_hex(c.span_id, hex);
    CHECK_EQ_STR(hex, SID);
    CHECK_EQ_INT(c.flags, SONDE_TRACE_FLAG_SAMPLED);
    CHECK_EQ_INT(c.remote, 1);
    CHECK(sonde_span_context_valid(&c));
    CHECK_EQ_INT(sonde_traceparent_parse("00-" TID "-" SID "-00", NULL, &c), SONDE_OK);
    CHECK_EQ_INT(c.flags, 0);
    /* flags other than sampled are not defined by version 00: ignored, kept valid */
    CHECK_EQ_INT(sonde_traceparent_parse("00-" TID "-" SID "-ff", NULL, &c), SONDE_OK);
    CHECK_EQ_INT(c.flags, SONDE_TRACE_FLAG_SAMPLED);
    CHECK_EQ_INT(sonde_traceparent_parse("00-" TID "-" SID "-02", NULL, &c), SONDE_OK);
    CHECK_EQ_INT(c.flags, 0);
    /* optional whitespace around the header value */
    CHECK(parses(" 00-" TID "-" SID "-01"));
    CHECK(parses("00-" TID "-" SID "-01\t "));
}

TEST(traceparent_versions)
{
    CHECK(!parses("ff-" TID "-" SID "-01"));              /* version ff is invalid */
    CHECK(parses("cc-" TID "-" SID "-01"));               /* a future version, 55 chars */
    CHECK(parses("cc-" TID "-" SID "-01-what-the-future-will-be-like"));
    CHECK(!parses("cc-" TID "-" SID "-01.what-the-future-will-be-like"));
    CHECK(!parses("00-" TID "-" SID "-01-what-the-future-will-be-like")); /* 00 is exact */
    CHECK(!parses("00-" TID "-" SID "-01-"));
    CHECK(!parses("0-" TID "-" SID "-01"));
    CHECK(!parses("000-" TID "-" SID "-01"));
    CHECK(!parses("hh-" TID "-" SID "-01"));
    CHECK(!parses("0x-" TID "-" SID "-01"));
    CHECK(!parses("FF-" TID "-" SID "-01"));
    CHECK(!parses("Cc-" TID "-" SID "-01"));
    sonde_span_context c;
    CHECK_EQ_INT(sonde_traceparent_parse("cc-" TID "-" SID "-01-x", NULL, &c), SONDE_OK);
    char out[SONDE_TRACEPARENT_LEN + 1];
    CHECK_EQ_INT(sonde_traceparent_format(&c, out), SONDE_OK);
    CHECK_EQ_STR(out, "00-" TID "-" SID "-01"); /* we write the version we know */
}

TEST(traceparent_invalid_ids)
{
    CHECK(!parses("00-00000000000000000000000000000000-" SID "-01"));
    CHECK(!parses("00-" TID "-0000000000000000-01"));
    CHECK(!parses("00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01")); /* uppercase */
    CHECK(!parses("00-" TID "-00F067AA0BA902B7-01"));
    CHECK(!parses("00-" TID "-" SID "-0A"));
    CHECK(!parses("00-4bf92f3577b34da6a3ce929d0e0e473-" SID "-01"));  /* short id */
    CHECK(!parses("00-4bf92f3577b34da6a3ce929d0e0e47366-" SID "-01")); /* long id */
    CHECK(!parses("00-" TID "-00f067aa0ba902b-01"));
    CHECK(!parses("00-" TID "-" SID "-1"));
    CHECK(!parses("00-" TID "-" SID "-011"));
    CHECK(!parses("00-4bf92f3577b34da6a3ce929d0e0e473g-" SID "-01"));
    CHECK(!parses("00_" TID "-" SID "-01"));
    CHECK(!parses("00-" TID "_" SID "-01"));
    CHECK(!parses("00-" TID "-" SID "_01"));
    CHECK(!parses(""));
    CHECK(!parses("garbage"));
    sonde_span_context c;
    memset(&c, 0x55, sizeof c);
    CHECK_EQ_INT(sonde_traceparent_parse("00-" TID "-" SID "-zz", NULL, &c), SONDE_EINVAL);
    CHECK(!sonde_span_context_valid(&c)); /* zeroed: a caller starts a new trace */
    CHECK_EQ_INT(c.remote, 0);
    CHECK_EQ_INT(c.flags, 0);
    CHECK_EQ_STR(c.tracestate, "");
}

static const char *state_of(const char *ts)
{
    static sonde_span_context c;
    CHECK_EQ_INT(sonde_traceparent_parse("00-" TID "-" SID "-01", ts, &c), SONDE_OK);
    return c.tracestate;
}

TEST(tracestate_grammar)
{
    CHECK_EQ_STR(state_of("foo=1,bar=2"), "foo=1,bar=2");
    CHECK_EQ_STR(state_of(" foo=1 ,\tbar=2 "), "foo=1,bar=2");
    CHECK_EQ_STR(state_of("foo=1,,bar=2,"), "foo=1,bar=2");       /* empty members */
    CHECK_EQ_STR(state_of("foo=1,foo=2"), "");                     /* duplicate key */
    CHECK_EQ_STR(state_of("FOO=1"), "");                            /* uppercase key */
    CHECK_EQ_STR(state_of("1foo=1"), "");                           /* simple key starts a-z */
    CHECK_EQ_STR(state_of("1foo@bar=1"), "1foo@bar=1");             /* tenant may start 0-9 */
    CHECK_EQ_STR(state_of("foo@1bar=1"), "");                       /* system starts a-z */
    CHECK_EQ_STR(state_of("foo=,bar=2"), "");                       /* empty value */
    CHECK_EQ_STR(state_of("foo=a=b"), "");                          /* '=' in a value */
    CHECK_EQ_STR(state_of("foo"), "");
    CHECK_EQ_STR(state_of("foo=bar baz"), "foo=bar baz");           /* inner space ok */
    CHECK_EQ_STR(state_of("foo=\x01"), "");
    CHECK_EQ_STR(state_of("a_-*/0=x"), "a_-*/0=x");
    /* a bad tracestate never invalidates the traceparent (state_of checked SONDE_OK) */
}

TEST(tracestate_lengths)
{
    char key[300], ts[1200];
    memset(key, 'k', 256);
    key[256] = '\0';
    snprintf(ts, sizeof ts, "%s=1", key);
    CHECK_EQ_STR(state_of(ts), ts);                                 /* 256-char key */
    memset(key, 'k', 257);
    key[257] = '\0';
    snprintf(ts, sizeof ts, "%s=1", key);
    CHECK_EQ_STR(state_of(ts), "");
    char tenant[260], system[20];
    memset(tenant, 't', 241);
    tenant[241] = '\0';
    memset(system, 's', 14);
    system[14] = '\0';
    snprintf(ts, sizeof ts, "%s@%s=1", tenant, system);
    CHECK_EQ_STR(state_of(ts), ts);
    snprintf(ts, sizeof ts, "%st@%s=1", tenant, system);          /* tenant 242 */
    CHECK_EQ_STR(state_of(ts), "");
    snprintf(ts, sizeof ts, "%s@%ss=1", tenant, system);          /* system 15 */
    CHECK_EQ_STR(state_of(ts), "");
    char val[300];
    memset(val, 'v', 256);
    val[256] = '\0';
    snprintf(ts, sizeof ts, "k=%s", val);
    CHECK_EQ_STR(state_of(ts), ts);
    memset(val, 'v', 257);
    val[257] = '\0';
    snprintf(ts, sizeof ts, "k=%s", val);
    CHECK_EQ_STR(state_of(ts), "");
}

TEST(tracestate_members)
{
    char ts[1024] = "";
    size_t n = 0;
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(ts + n, sizeof ts - n, "%sk%d=%d", i ? "," : "", i, i);
    CHECK_EQ_STR(state_of(ts), ts);                                 /* 32 members */
    snprintf(ts + n, sizeof ts - n, ",k32=32");
    CHECK_EQ_STR(state_of(ts), "");                                 /* 33: invalid */
    /* Over 512 bytes: members over 128 bytes go first, then members from the end. */
    char big[200], longv[3000];
    memset(big, 'b', 150);
    big[150] = '\0';
    n = (size_t)snprintf(longv, sizeof longv, "a=1,big=%s", big);
    for (int i = 0; i < 24; i++) /* 3 + 24 * 25 bytes without big: over 512 still */
        n += (size_t)snprintf(longv + n, sizeof longv - n, ",m%02d=%s", i, "xxxxxxxxxxxxxxxxxxxx");
    const char *cut = state_of(longv);
    CHECK(strlen(cut) <= SONDE_TRACESTATE_MAX);
    CHECK(strncmp(cut, "a=1,m00=", 8) == 0);                        /* big dropped */
    CHECK(strstr(cut, "big=") == NULL);
    CHECK(strstr(cut, "m20=") == NULL);                              /* the end dropped */
    CHECK(strstr(cut, "m19=") != NULL);                              /* 3 + 20 * 25 = 503 */
}

TEST(traceparent_roundtrip)
{
    sonde_span_context c;
    char out[SONDE_TRACEPARENT_LEN + 1];
    CHECK_EQ_INT(sonde_traceparent_parse("00-" TID "-" SID "-01", NULL, &c), SONDE_OK);
    CHECK_EQ_INT(sonde_traceparent_format(&c, out), SONDE_OK);
    CHECK_EQ_STR(out, "00-" TID "-" SID "-01");
    c.flags = 0;
    CHECK_EQ_INT(sonde_traceparent_format(&c, out), SONDE_OK);
    CHECK_EQ_STR(out, "00-" TID "-" SID "-00");
    memset(&c, 0, sizeof c);
    CHECK_EQ_INT(sonde_traceparent_format(&c, out), SONDE_EINVAL);
    CHECK_EQ_STR(out, "");
}

/* Every byte value at every position of both ids survives a round trip, and the bytes
 * read back match the hex written (the ids are decoded and encoded many at a time). */
TEST(traceparent_every_byte_and_position)
{
    for (int pos = 0; pos < 24; pos++) {
        for (int v = 0; v < 256; v++) {
            sonde_span_context c;
            memset(&c, 0, sizeof c);
            for (int i = 0; i < 16; i++)
                c.trace_id[i] = (uint8_t)(i * 37 + 1);
            for (int i = 0; i < 8; i++)
                c.span_id[i] = (uint8_t)(i * 53 + 2);
            if (pos < 16)
                c.trace_id[pos] = (uint8_t)v;
            else
                c.span_id[pos - 16] = (uint8_t)v;
            char out[SONDE_TRACEPARENT_LEN + 1], want[SONDE_TRACEPARENT_LEN + 1];
            CHECK_EQ_INT(sonde_traceparent_format(&c, out), SONDE_OK);
            int n = snprintf(want, sizeof want, "00-");
            for (int i = 0; i < 16; i++)
                n += snprintf(want + n, sizeof want - (size_t)n, "%02x", c.trace_id[i]);
            n += snprintf(want + n, sizeof want - (size_t)n, "-");
            for (int i = 0; i < 8; i++)
                n += snprintf(want + n, sizeof want - (size_t)n, "%02x", c.span_id[i]);
            snprintf(want + n, sizeof want - (size_t)n, "-00");
            CHECK_EQ_STR(out, want);
            sonde_span_context back;
            CHECK_EQ_INT(sonde_traceparent_parse(out, NULL, &back), SONDE_OK);
            CHECK(memcmp(back.trace_id, c.trace_id, 16) == 0);
            CHECK(memcmp(back.span_id, c.span_id, 8) == 0);
        }
    }
}

/* Any character but a lowercase hex digit, at any position of either id, is refused. */
TEST(traceparent_bad_character_anywhere)
{
    const char *good = "00-" TID "-" SID "-01";
    for (int pos = 3; pos < 52; pos++) {
        if (pos == 35)
            continue; /* the dash between the ids */
        for (int ch = 1; ch < 256; ch++) {
            int hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
            char tp[SONDE_TRACEPARENT_LEN + 1];
            memcpy(tp, good, sizeof tp);
            tp[pos] = (char)ch;
            if (parses(tp) != hex) {
                fprintf(stderr, "position %d, byte 0x%02x: %s\n", pos, ch, hex ? "refused" : "accepted");
                CHECK(0);
                return;
            }
        }
    }
}

static void id_with_tail(uint8_t id[16], uint64_t tail)
{
    memset(id, 0xab, 8);
    for (int i = 0; i < 8; i++)
        id[8 + i] = (uint8_t)(tail >> (56 - 8 * i));
}

TEST(sampler_ratio)
{
    uint8_t id[16];
    id_with_tail(id, 0);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_TRACEIDRATIO, 0, NULL, id), 0);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_TRACEIDRATIO, 1e-300, NULL, id), 0);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_TRACEIDRATIO, ldexp(1, -64), NULL, id), 1);
    id_with_tail(id, UINT64_MAX);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_TRACEIDRATIO, 1, NULL, id), 1);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_TRACEIDRATIO, 0.999999, NULL, id), 0);
    id_with_tail(id, 0x7fffffffffffffffull);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_TRACEIDRATIO, 0.5, NULL, id), 1);
    id_with_tail(id, 0x8000000000000000ull);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_TRACEIDRATIO, 0.5, NULL, id), 0);
    id_with_tail(id, 0x3fffffffffffffffull);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_TRACEIDRATIO, 0.25, NULL, id), 1);
    id_with_tail(id, 0x4000000000000000ull);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_TRACEIDRATIO, 0.25, NULL, id), 0);
    /* the first 8 bytes do not matter (the rule reads the last 8) */
    id_with_tail(id, 0x4000000000000000ull);
    memset(id, 0, 8);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_TRACEIDRATIO, 0.25, NULL, id), 0);
    /* on evenly spread ids, the fraction is the ratio (deterministic ids: no flakiness) */
    int sampled = 0;
    for (uint64_t i = 0; i < 10000; i++) {
        id_with_tail(id, i * 0x0001a36e2eb1c433ull * 1000003ull + 0x9e3779b97f4a7c15ull * i);
        sampled += sonde_sampler_decide(SONDE_SAMPLER_TRACEIDRATIO, 0.1, NULL, id);
    }
    CHECK(sampled > 900 && sampled < 1100);
}

TEST(sampler_parent_based)
{
    uint8_t id[16];
    id_with_tail(id, UINT64_MAX); /* a ratio sampler would not sample it */
    sonde_span_context sampled, unsampled, none;
    sonde_traceparent_parse("00-" TID "-" SID "-01", NULL, &sampled);
    sonde_traceparent_parse("00-" TID "-" SID "-00", NULL, &unsampled);
    memset(&none, 0, sizeof none);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_ALWAYS_ON, 0, &unsampled, id), 1);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_ALWAYS_OFF, 1, &sampled, id), 0);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_PARENTBASED_ALWAYS_ON, 0, &unsampled, id), 0);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_PARENTBASED_ALWAYS_ON, 0, &sampled, id), 1);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_PARENTBASED_ALWAYS_ON, 0, NULL, id), 1);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_PARENTBASED_ALWAYS_ON, 0, &none, id), 1);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_PARENTBASED_ALWAYS_OFF, 0, &sampled, id), 1);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_PARENTBASED_ALWAYS_OFF, 0, NULL, id), 0);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.5, &sampled, id), 1);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_PARENTBASED_TRACEIDRATIO, 1, &unsampled, id), 0);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.5, NULL, id), 0);
    id_with_tail(id, 1);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.5, NULL, id), 1);
    CHECK_EQ_INT(sonde_sampler_decide(SONDE_SAMPLER_ALWAYS_ON, 1, NULL, NULL), 0);
}

int main(void)
{
    RUN(traceparent_valid);
    RUN(traceparent_versions);
    RUN(traceparent_invalid_ids);
    RUN(tracestate_grammar);
    RUN(tracestate_lengths);
    RUN(tracestate_members);
    RUN(traceparent_roundtrip);
    RUN(traceparent_every_byte_and_position);
    RUN(traceparent_bad_character_anywhere);
    RUN(sampler_ratio);
    RUN(sampler_parent_based);
    return check_report();
}
