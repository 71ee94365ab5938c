/*
 * fuzz_server.c - one request through sonde_server_handle(), every field
 * from the input: method, path (query and all), Accept, Accept-Encoding and
 * Authorization (the server requires basic auth on /metrics). Checks: the
 * call succeeds, the status is one the server documents, the body is
 * NUL-terminated at body_len, headers are complete, and a 200 on /metrics
 * without gzip is a whole exposition (OpenMetrics ends with "# EOF").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "sonde/sonde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sonde_server *server(void)
{
    static sonde_server *srv;
    if (srv)
        return srv;
    sonde_config cfg;
    sonde_config_init(&cfg);
    cfg.process_metrics = 0;
    sonde_registry *reg = NULL;
    sonde_counter *c = NULL;
    if (sonde_registry_new(&cfg, &reg) || sonde_counter_new(reg, "fuzz_hits", "h", &c))
        abort();
    sonde_counter_add(c, 0.25);
    sonde_server_opts opts;
    sonde_server_opts_init(&opts);
    opts.registry = reg;
    opts.basic_user = "user";
    opts.basic_password = "pass";
    if (sonde_server_new(&opts, NULL, 0, &srv))
        abort();
    return srv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size};
    static const char *const methods[] = {"GET", "HEAD", "POST", "get", ""};
    static const char *const paths[] = {"/metrics", "/health", "/ready", "/metrics?x=1"};
    char path[300], accept[300], ae[300], auth[300];
    const char *method = methods[fuzz_below(&in, 5)];
    unsigned path_choice = fuzz_below(&in, 5);
    fuzz_string(&in, path, sizeof path);
    fuzz_string(&in, accept, sizeof accept);
    fuzz_string(&in, ae, sizeof ae);
    fuzz_string(&in, auth, sizeof auth);
    unsigned with_auth = fuzz_below(&in, 3);
    sonde_server_request req = {
        .method = method,
        .path = path_choice < 4 ? paths[path_choice] : path,
        .accept = accept[0] ? accept : NULL,
        .accept_encoding = ae[0] ? ae : NULL,
        .authorization = with_auth == 0 ? NULL : with_auth == 1 ? "Basic dXNlcjpwYXNz" : auth,
    };
    sonde_server_response resp;
    if (sonde_server_handle(server(), &req, &resp) != SONDE_OK)
        abort();
    static const int statuses[] = {200, 401, 404, 405, 500, 503};
    int known = 0;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        known |= resp.status == statuses[i];
    if (!known || !resp.body || resp.body[resp.body_len] != '\0' ||
        resp.header_count > SONDE_SERVER_MAX_HEADERS)
        abort();
    for (size_t i = 0; i < resp.header_count; i++)
        if (!resp.headers[i].name || !resp.headers[i].value)
            abort();
    int gzip = 0, om = 0;
    for (size_t i = 0; i < resp.header_count; i++) {
        gzip |= !strcmp(resp.headers[i].name, "Content-Encoding");
        om |= !strcmp(resp.headers[i].name, "Content-Type") &&
              !strncmp(resp.headers[i].value, "application/openmetrics-text", 28);
    }
    if (resp.status == 200 && path_choice == 0 && !gzip) {
        if (!strstr(resp.body, "fuzz_hits_total 0.25\n"))
            abort();
        if (om && (resp.body_len < 6 || strcmp(resp.body + resp.body_len - 6, "# EOF\n")))
            abort();
    }
    sonde_server_response_free(&resp);
    return 0;
}
