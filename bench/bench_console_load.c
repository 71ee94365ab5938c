/*
 * bench_console_load.c - BENCH console_first_load_kb: what a browser downloads to show
 * the console the first time, gzip'd as it asks for (issue 14: <= 300 KB). It follows
 * the page as a browser would, through sonde_console_handle(): GET /console/, then every
 * "/console/assets/NAME" the page names (scripts, stylesheets), then every "./NAME"
 * module import of each script, each once, with Accept-Encoding: gzip, summing the
 * bodies (KB = 1000 bytes). A reference that does not answer 200 fails the benchmark.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sonde/console.h>
#include <sonde/sonde.h>

#define MAX_ASSETS 64

static char seen[MAX_ASSETS][160];
static size_t nseen;

static int fetch(sonde_console *c, const char *path, size_t *total);

/* Follow every reference prefix+NAME (NAME up to a quote) in text, as /console/assets/NAME. */
static int follow(sonde_console *c, const char *text, const char *prefix, size_t *total)
{
    for (const char *p = text; (p = strstr(p, prefix)); ) {
        p += strlen(prefix);
        size_t n = strcspn(p, "\"'");
        char path[160];
        snprintf(path, sizeof path, "/console/assets/%.*s", (int)n, p);
        if (fetch(c, path, total) != 0) return -1;
    }
    return 0;
}

static int fetch(sonde_console *c, const char *path, size_t *total)
{
    for (size_t i = 0; i < nseen; i++)
        if (strcmp(seen[i], path) == 0) return 0;
    if (nseen == MAX_ASSETS) return -1;
    snprintf(seen[nseen++], sizeof seen[0], "%s", path);
    sonde_server_request gz = {.method = "GET", .path = path, .accept_encoding = "gzip, deflate, br"};
    sonde_server_request plain = {.method = "GET", .path = path};
    sonde_server_response r, text;
    if (sonde_console_handle(c, &gz, &r) != SONDE_OK || r.status != 200) {
        fprintf(stderr, "bench-console-load: %s did not answer 200\n", path);
        return -1;
    }
    *total += r.body_len;
    sonde_server_response_free(&r);
    if (sonde_console_handle(c, &plain, &text) != SONDE_OK || text.status != 200) return -1;
    int rc = 0;
    if (strstr(path, "dygraph") == NULL) /* the library imports nothing */
        rc = follow(c, text.body, "/console/assets/", total) || follow(c, text.body, "from './", total);
    sonde_server_response_free(&text);
    return rc;
}

int main(void)
{
    sonde_console_opts o;
    sonde_console_opts_init(&o);
    sonde_console *c;
    char err[128];
    if (sonde_console_new(&o, &c, err, sizeof err) != SONDE_OK) {
        fprintf(stderr, "bench-console-load: %s\n", err);
        return 1;
    }
    size_t total = 0;
    int rc = fetch(c, "/console/", &total);
    sonde_console_free(c);
    if (rc != 0) return 1;
    printf("BENCH console_first_load_kb %.1f\n", (double)total / 1000.0);
    fprintf(stderr, "bench-console-load: %zu files, %zu bytes gzip'd\n", nseen, total);
    return 0;
}
