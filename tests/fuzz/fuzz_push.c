/*
 * fuzz_push.c - two inputs of the push exporters, picked by the first byte.
 * 1. The remote-write encoding of a custom collector's output, which it reads back
 *    from the collector's rendering: a collector emits fuzzed names, label names and
 *    values, and values; every sample the emitter accepted becomes exactly one series.
 * 2. The Pushgateway grouping key built from outside input (job and grouping
 * labels come from SONDE_PUSHGATEWAY_JOB / _GROUPING or a config file), and the client
 * built on it with a fuzzed URL. Checks: no crash, leak or over-read; a path is returned
 * only for a valid UTF-8 job and valid label names, holds nothing but URL-safe bytes, and
 * decodes back (base64url after "@base64", percent-decoding otherwise) to exactly the job
 * and the labels given; a client is created only for an http(s) URL without spaces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_input.h"
#include "sonde/push.h"
#include "sonde/sonde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int b64(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* Decode one segment value into out; returns its length. */
static size_t decode(const char *s, size_t n, int base64, char *out)
{
    size_t o = 0;
    if (base64) {
        unsigned acc = 0;
        int bits = 0;
        for (size_t i = 0; i < n && s[i] != '='; i++) {
            int v = b64(s[i]);
            if (v < 0) abort();
            acc = (acc << 6) | (unsigned)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                out[o++] = (char)((acc >> bits) & 0xff);
            }
        }
        return o;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n) abort();
            char hex[3] = {s[i + 1], s[i + 2], 0};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

typedef struct emitted {
    fuzz_input *in;
    size_t accepted;
} emitted;

static int collect(sonde_emitter *e, void *ud)
{
    emitted *em = ud;
    char fam[32], ln[2][32], lv[2][128];
    for (unsigned f = fuzz_below(em->in, 3); f > 0; f--) {
        fuzz_name(em->in, fam, sizeof fam);
        sonde_type t = fuzz_below(em->in, 2) ? SONDE_COUNTER : SONDE_GAUGE;
        if (sonde_emit_family(e, fam, "h", t, NULL) != SONDE_OK)
            continue;
        for (unsigned k = fuzz_below(em->in, 3); k > 0; k--) {
            size_t n = fuzz_below(em->in, 3);
            sonde_label l[2];
            for (size_t i = 0; i < n; i++) {
                fuzz_name(em->in, ln[i], sizeof ln[i]);
                fuzz_string(em->in, lv[i], sizeof lv[i]);
                l[i] = (sonde_label){ln[i], lv[i]};
            }
            if (sonde_emit_sample(e, NULL, l, n, fuzz_double(em->in)) == SONDE_OK)
                em->accepted++;
        }
    }
    return 0;
}

static void fuzz_collector(fuzz_input *in)
{
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg;
    if (sonde_registry_new(&cfg, &reg) != SONDE_OK)
        return;
    emitted em = {in, 0};
    sonde_collector_add(reg, "fuzz", collect, &em, NULL);
    char *out;
    size_t len, samples;
    sonde_label ext[] = {{"region", "eu"}};
    if (sonde_remote_write_encode(reg, ext, 1, 1, &out, &len, &samples) == SONDE_OK) {
        if (samples != em.accepted)
            abort();
        free(out);
    }
    sonde_registry_free(reg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    if (fuzz_below(&in, 2) == 0) {
        fuzz_collector(&in);
        return 0;
    }
    char job[128], names[3][32], values[3][128], url[128];
    fuzz_string(&in, job, sizeof job);
    sonde_label g[3];
    size_t n = fuzz_below(&in, 4);
    for (size_t i = 0; i < n; i++) {
        fuzz_name(&in, names[i], sizeof names[i]);
        fuzz_string(&in, values[i], sizeof values[i]);
        g[i] = (sonde_label){names[i], values[i]};
    }
    fuzz_string(&in, url, sizeof url);
    char path[2048];
    int len = sonde_pushgateway_path(job, g, n, path, sizeof path);
    if (len >= 0) {
        if ((size_t)len != strlen(path) || strncmp(path, "/metrics", 8) != 0)
            abort();
        for (const char *p = path; *p; p++)
            if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%/@=", *p))
                abort();
        /* /metrics then name/value pairs */
        const char *p = path + 8;
        const char *want_names[4] = {"job"}, *want_values[4] = {job};
        for (size_t i = 0; i < n; i++)
            want_names[i + 1] = names[i], want_values[i + 1] = values[i];
        for (size_t i = 0; i <= n; i++) {
            if (*p++ != '/') abort();
            const char *name_end = strchr(p, '/');
            if (!name_end) abort();
            size_t nl = (size_t)(name_end - p);
            int base64 = nl > 7 && memcmp(name_end - 7, "@base64", 7) == 0;
            if (base64) nl -= 7;
            if (nl != strlen(want_names[i]) || memcmp(p, want_names[i], nl) != 0) abort();
            p = name_end + 1;
            const char *v_end = strchr(p, '/');
            size_t vl = v_end ? (size_t)(v_end - p) : strlen(p);
            char back[512];
            size_t bl = decode(p, vl, base64, back);
            if (bl != strlen(want_values[i]) || memcmp(back, want_values[i], bl) != 0) abort();
            p += vl;
        }
        if (*p) abort();
    }
    sonde_pushgateway_opts po;
    sonde_pushgateway_opts_init(&po);
    po.url = url;
    po.job = job;
    po.grouping = g;
    po.grouping_count = n;
    sonde_pushgateway *pg = NULL;
    int rc = sonde_pushgateway_new(&po, &pg);
    if (rc == SONDE_OK) {
        if (len < 0 || strncasecmp(url, "http", 4) != 0 || strchr(url, ' '))
            abort();
        if (strstr(sonde_pushgateway_url(pg), path) == NULL)
            abort();
    } else if (pg) {
        abort();
    }
    sonde_pushgateway_free(pg);
    return 0;
}
