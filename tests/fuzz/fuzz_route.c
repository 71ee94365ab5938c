/*
 * fuzz_route.c - the HTTP middleware's route normaliser (src/http/route.c):
 * a few templates from the input, then a path. Checks: the route is
 * "OTHER" or starts with '/', is shorter than HTTP_ROUTE_MAX, has no query
 * or fragment, is the template a path spells out literally, and is valid
 * UTF-8 whenever the path is (a route is a label value).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "internal.h"
#include "sonde/sonde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sonde_registry *reg;
    if (!reg) {
        sonde_config cfg;
        sonde_config_init(&cfg);
        cfg.process_metrics = 0;
        if (sonde_registry_new(&cfg, &reg))
            return 0;
    }
    fuzz_input in = {data, size};
    sonde_http_opts opts = {.registry = reg, .route_limit = 8};
    sonde_http *h = NULL;
    if (sonde_http_new(&opts, &h))
        return 0;
    unsigned templates = fuzz_below(&in, 4);
    char tmpl[4][300];
    size_t added = 0;
    for (unsigned i = 0; i < templates; i++) {
        char t[300];
        fuzz_string(&in, t, sizeof t);
        if (sonde_http_route_add(h, t) == SONDE_OK)
            strcpy(tmpl[added++], t);
    }
    /* the rest of the input is the path */
    char *path = malloc(in.left + 1);
    if (!path) {
        sonde_http_free(h);
        return 0;
    }
    memcpy(path, in.p, in.left);
    path[in.left] = '\0';
    char route[256];
    size_t n = sonde_http_route(h, path, route, sizeof route);
    if (n == 0 || n != strlen(route) || n >= 256)
        abort();
    if (strcmp(route, "OTHER") != 0 && route[0] != '/')
        abort();
    if (strpbrk(route, "?#"))
        abort();
    /* a path that spells a template out routes to a template (the first that matches) */
    int spelled = 0, routed = 0;
    for (size_t i = 0; i < added; i++) {
        spelled |= !strpbrk(path, "?#") && strcmp(path, tmpl[i]) == 0;
        routed |= strcmp(route, tmpl[i]) == 0;
    }
    if (spelled && !routed)
        abort();
    size_t plen = strcspn(path, "?#");
    if (sonde_valid_utf8(path, plen) && !sonde_valid_utf8(route, n))
        abort();
    free(path);
    sonde_http_free(h);
    return 0;
}
