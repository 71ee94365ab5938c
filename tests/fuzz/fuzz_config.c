/*
 * fuzz_config.c - the configuration parsers: sonde_config_from_env() with
 * every SONDE_* variable set (or not) from the input, on top of a struct
 * with fuzzed global labels, then sonde_config_validate(), and a registry
 * and a server created from whatever was accepted. Checks: the error
 * message is NUL-terminated inside its buffer, an error leaves the struct
 * as it was, what from_env accepted on top of the defaults passes
 * validation, and a valid config makes a registry whose exposition carries
 * every global label in both formats (when enabled: a disabled registry
 * exposes nothing).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "internal.h"
#include "sonde/sonde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const vars[] = {"SONDE_METRICS_ENABLED", "SONDE_METRICS_PATH",
                                   "SONDE_METRICS_ADDR",    "SONDE_METRICS_PORT",
                                   "SONDE_GLOBAL_LABELS",   "SONDE_SERVICE_NAME",
                                   "SONDE_SERVICE_VERSION", "SONDE_ENVIRONMENT"};

static void check_exposition(sonde_registry *reg, const sonde_config *cfg)
{
    sonde_metric *m = NULL;
    sonde_metric_opts o = {.type = SONDE_COUNTER, .name = "fuzz_events", .help = "h"};
    if (sonde_register(reg, &o, &m) != SONDE_OK)
        return;
    sonde_counter_inc(sonde_counter_of(m));
    for (int f = 0; f < 2; f++) {
        size_t len = 0;
        char *text = sonde_expose_alloc(reg, f ? SONDE_FORMAT_OPENMETRICS : SONDE_FORMAT_TEXT, &len);
        if (!text)
            abort();
        for (size_t i = 0; cfg->enabled && i < cfg->global_label_count; i++) {
            char want[300];
            size_t n = strlen(cfg->global_labels[i].name);
            if (n + 3 > sizeof want)
                abort();
            memcpy(want, cfg->global_labels[i].name, n);
            memcpy(want + n, "=\"", 3);
            if (!strstr(text, want))
                abort();
        }
        free(text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    char value[sizeof vars / sizeof vars[0]][256];
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (fuzz_byte(&in) & 1) {
            fuzz_string(&in, value[i], sizeof value[i]);
            setenv(vars[i], value[i], 1);
        } else {
            unsetenv(vars[i]);
        }
    }
    sonde_label given[3];
    char gname[3][32], gvalue[3][64];
    size_t ngiven = fuzz_below(&in, 4);
    for (size_t i = 0; i < ngiven; i++) {
        fuzz_name(&in, gname[i], sizeof gname[i]);
        fuzz_string(&in, gvalue[i], sizeof gvalue[i]);
        given[i] = (sonde_label){gname[i], gvalue[i]};
    }
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    cfg.global_labels = ngiven ? given : NULL;
    cfg.global_label_count = ngiven;
    sonde_config before = cfg;
    size_t errlen = 1 + fuzz_below(&in, 64);
    char err[64];
    memset(err, 'X', sizeof err);
    int rc = sonde_config_from_env(&cfg, err, errlen);
    if (rc != SONDE_OK) {
        if (!memchr(err, '\0', errlen) || memcmp(&cfg, &before, sizeof cfg) != 0)
            abort();
        return 0;
    }
    sonde_registry *reg = NULL;
    int vrc = sonde_config_validate(&cfg, err, errlen);
    if (vrc == SONDE_OK) {
        if (sonde_registry_new(&cfg, &reg) == SONDE_OK) {
            check_exposition(reg, &cfg);
            sonde_server_opts opts;
            sonde_server_opts_init(&opts);
            opts.registry = reg;
            sonde_server *srv = NULL;
            if (sonde_server_new(&opts, err, errlen, &srv) == SONDE_OK)
                sonde_server_free(srv);
            sonde_registry_free(reg);
        }
    } else if (!memchr(err, '\0', errlen) || ngiven == 0) {
        abort(); /* from_env validates everything it parses itself */
    }
    sonde_config_cleanup(&cfg);
    return 0;
}
