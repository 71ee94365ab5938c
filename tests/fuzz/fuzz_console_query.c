/*
 * fuzz_console_query.c - the console API's query strings (src/console/params.c
 * and the parameter checks of the endpoints): the first input byte picks an
 * endpoint, the rest is its query string, answered by sonde_console_handle()
 * over a small registry (a labelled counter, a histogram, a gauge). Checks:
 * the parser yields at most CONSOLE_MAX_PARAMS pairs of valid UTF-8; every
 * answer is 200, 400, 404 or 503, a JSON object ending in "}\n" without a raw
 * control character, and a 400 is the error object.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/console/console_internal.h"
#include "sonde/sonde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sonde_console *console(void)
{
    static sonde_console *c;
    if (c)
        return c;
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg = NULL;
    if (sonde_registry_new(&cfg, &reg))
        abort();
    static const char *const lbl[] = {"route", "code"};
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "reqs", .help = "R.",
                           .label_names = lbl, .label_count = 2};
    sonde_metric *m = NULL;
    if (sonde_register(reg, &o, &m))
        abort();
    const char *v[] = {"/a", "200"}, *w[] = {"/b\"<x>", "500"};
    sonde_counter_add(sonde_counter_with(m, v), 3);
    sonde_counter_add(sonde_counter_with(m, w), 1);
    sonde_histogram *h = NULL;
    sonde_histogram_new(reg, "lat_seconds", "L.", (sonde_buckets){0}, &h);
    sonde_histogram_observe(h, 0.2);
    sonde_gauge *g = NULL;
    sonde_gauge_new(reg, "temp", "T.", &g);
    sonde_console_opts co;
    sonde_console_opts_init(&co);
    co.registry = reg;
    co.max_bytes = 1 << 20;
    if (sonde_console_new(&co, &c, NULL, 0))
        abort();
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const endpoints[] = {"query", "series", "families", "status", "overview"};
    if (!size)
        return 0;
    const char *ep = endpoints[data[0] % 5];
    size_t n = size - 1 < 6000 ? size - 1 : 6000;
    char *path = malloc(64 + n + 1);
    if (!path)
        return 0;
    int k = snprintf(path, 64, "/console/api/%s?", ep);
    memcpy(path + k, data + 1, n);
    path[k + n] = '\0';

    console_params *p = malloc(sizeof *p);
    if (p && console_params_parse(path + k, p, NULL, 0) == SONDE_OK) {
        if (p->n > CONSOLE_MAX_PARAMS)
            abort();
        for (size_t i = 0; i < p->n; i++)
            if (!sonde_internal_valid_utf8(p->key[i], strlen(p->key[i])) ||
                !sonde_internal_valid_utf8(p->val[i], strlen(p->val[i])))
                abort();
    }
    free(p);

    sonde_server_request req = {.method = "GET", .path = path};
    sonde_server_response resp;
    if (sonde_console_handle(console(), &req, &resp) == SONDE_OK) {
        int st = resp.status;
        if (st != 200 && st != 400 && st != 404 && st != 503)
            abort();
        if (resp.body_len < 3 || resp.body[0] != '{' ||
            memcmp(resp.body + resp.body_len - 2, "}\n", 2) != 0)
            abort();
        for (size_t i = 0; i + 1 < resp.body_len; i++)
            if ((unsigned char)resp.body[i] < 0x20)
                abort();
        if (st == 400 && strncmp(resp.body, "{\"error\":{\"message\":\"", 21) != 0)
            abort();
        sonde_server_response_free(&resp);
    }
    free(path);
    return 0;
}
