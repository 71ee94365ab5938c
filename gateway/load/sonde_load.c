/*
 * sonde-load - a load generator for OpenAI-compatible endpoints (the gateway
 * first of all). N clients run concurrently on one curl multi handle (no
 * thread per client), each sending one request after the other, streaming or
 * not, until a duration or a request count is reached. It measures what a
 * client sees: the time to the first content token (streams: the first event
 * carrying content, text or a tool call; whole answers: the whole answer) and
 * end to end, and prints a progress line while it runs and a summary at the
 * end: requests/s, errors by status, TTFT and end-to-end p50/p95/p99, plus
 * the peak number of streams receiving tokens at the same time. The last line
 * ("SUMMARY k=v ...") is meant for scripts. The request body is built once with
 * jansson (so prompts may hold any text, "@tool" lines for the sim included);
 * --tools adds a JSON array as its "tools" (function or MCP tools).
 */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct client {
    CURL *e;
    double start, first;
    int got_first, active;
    char tail[16]; /* last bytes of the previous chunk, for markers split across chunks */
} client;

typedef struct samples {
    double *v;
    size_t n, cap;
} samples;

static volatile sig_atomic_t interrupted;
static void on_signal(int s) { (void)s; interrupted = 1; }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add(samples *s, double v)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        double *p = realloc(s->v, nc * sizeof *p);
        if (!p) return;
        s->v = p;
        s->cap = nc;
    }
    s->v[s->n++] = v;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(samples *s, double p)
{
    if (!s->n) return NAN;
    size_t i = (size_t)ceil(p * (double)s->n) - 1;
    return s->v[i < s->n ? i : s->n - 1];
}

static int streaming, streams_now, streams_peak;

/* Does this chunk carry the first content token? */
static int has_token(client *c, const char *d, size_t n)
{
    /* chat and completions chunks; a Responses stream's output_text.delta */
    static const char *const marks[] = {"\"content\":\"", "\"text\":\"", "\"tool_calls\":[",
                                        "\"delta\":\"", NULL};
    char buf[16 + 4096];
    size_t tl = strlen(c->tail), m = n < 4096 ? n : 4096;
    memcpy(buf, c->tail, tl);
    memcpy(buf + tl, d, m);
    buf[tl + m] = 0;
    size_t keep = m < 15 ? m : 15;
    memcpy(c->tail, d + m - keep, keep);
    c->tail[keep] = 0;
    for (const char *const *k = marks; *k; k++) {
        const char *p = buf;
        while ((p = strstr(p, *k))) {
            p += strlen(*k);
            if (**k != '"' || (*p && *p != '"')) return 1;
            if (strcmp(*k, "\"tool_calls\":[") == 0) return 1;
        }
    }
    return 0;
}

static size_t on_data(char *d, size_t sz, size_t nm, void *ud)
{
    client *c = ud;
    size_t n = sz * nm;
    if (streaming && !c->got_first && has_token(c, d, n)) {
        c->got_first = 1;
        c->first = now();
        if (++streams_now > streams_peak) streams_peak = streams_now;
    }
    return n;
}

/* The request body of ENDPOINT (a string to free): the prompt as the user's message. */
static char *request_body(const char *endpoint, const char *model, const char *prompt,
                          long max_tokens, json_t *tools)
{
    json_t *b = json_pack("{s:s}", "model", model);
    if (strcmp(endpoint, "chat") == 0)
        json_object_set_new(b, "messages", json_pack("[{s:s, s:s}]", "role", "user", "content", prompt));
    else if (strcmp(endpoint, "completions") == 0)
        json_object_set_new(b, "prompt", json_string(prompt));
    else
        json_object_set_new(b, "input", json_string(prompt));
    if (strcmp(endpoint, "embeddings") != 0) json_object_set_new(b, "stream", json_boolean(streaming));
    if (max_tokens)
        json_object_set_new(b, strcmp(endpoint, "responses") == 0 ? "max_output_tokens" : "max_tokens",
                            json_integer(max_tokens));
    if (tools) json_object_set(b, "tools", tools);
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    return s;
}

static void usage(FILE *f)
{
    fprintf(f,
"Usage: sonde-load [options]\n"
"  -u, --url URL          base URL (default http://127.0.0.1:8080/v1) [SONDE_LOAD_URL]\n"
"  -c, --concurrency N    concurrent clients (default 10)\n"
"  -d, --duration S       run for S seconds (default 10 unless -n is given)\n"
"  -n, --requests N       stop after N requests\n"
"  -s, --stream           streamed chat completions (default)\n"
"  -S, --no-stream        whole answers\n"
"  -e, --endpoint E       chat | completions | responses | embeddings (default chat)\n"
"  -m, --model NAME       model (default sonde-sim)\n"
"  -t, --max-tokens N     max_tokens per request (default: none)\n"
"  -p, --prompt TEXT      the user message (default: a short sentence)\n"
"      --tools JSON       a JSON array sent as the request's \"tools\" (chat, responses)\n"
"  -q, --quiet            no progress line\n"
"      --progress         a progress line even when stderr is not a terminal\n"
"  -h, --help\n"
"The API key is read from SONDE_LOAD_KEY (sent as a bearer token).\n");
}

int main(int argc, char **argv)
{
    const char *url = getenv("SONDE_LOAD_URL") ? getenv("SONDE_LOAD_URL") : "http://127.0.0.1:8080/v1";
    const char *endpoint = "chat", *model = "sonde-sim";
    const char *prompt = "Say something about metrics.", *tools_text = NULL;
    long conc = 10, limit = 0, max_tokens = 0;
    double duration = 0;
    int quiet = 0, progress = isatty(2);
    streaming = 1;
    static const struct option longs[] = {
        {"url", 1, NULL, 'u'}, {"concurrency", 1, NULL, 'c'}, {"duration", 1, NULL, 'd'},
        {"requests", 1, NULL, 'n'}, {"stream", 0, NULL, 's'}, {"no-stream", 0, NULL, 'S'},
        {"endpoint", 1, NULL, 'e'}, {"model", 1, NULL, 'm'}, {"max-tokens", 1, NULL, 't'},
        {"prompt", 1, NULL, 'p'}, {"tools", 1, NULL, 'T'}, {"quiet", 0, NULL, 'q'},
        {"progress", 0, NULL, 'P'},
        {"help", 0, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "u:c:d:n:sSe:m:t:p:qh", longs, NULL)) != -1) {
        switch (o) {
        case 'u': url = optarg; break;
        case 'c': conc = atol(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'n': limit = atol(optarg); break;
        case 's': streaming = 1; break;
        case 'S': streaming = 0; break;
        case 'e': endpoint = optarg; break;
        case 'm': model = optarg; break;
        case 't': max_tokens = atol(optarg); break;
        case 'p': prompt = optarg; break;
        case 'T': tools_text = optarg; break;
        case 'q': quiet = 1; break;
        case 'P': progress = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (conc < 1 || conc > 100000 || limit < 0 || duration < 0 || max_tokens < 0 ||
        (strcmp(endpoint, "chat") && strcmp(endpoint, "completions") && strcmp(endpoint, "responses") &&
         strcmp(endpoint, "embeddings"))) {
        fprintf(stderr, "sonde-load: bad option value\n");
        usage(stderr);
        return 2;
    }
    if (!limit && !duration) duration = 10;
    if (quiet) progress = 0;
    int is_embed = strcmp(endpoint, "embeddings") == 0;
    if (is_embed) streaming = 0;

    json_t *tools = NULL;
    if (tools_text) {
        tools = json_loads(tools_text, 0, NULL);
        if (!json_is_array(tools) || (strcmp(endpoint, "chat") && strcmp(endpoint, "responses"))) {
            fprintf(stderr, "sonde-load: --tools takes a JSON array, with -e chat or responses\n");
            json_decref(tools);
            return 2;
        }
    }
    char *body = request_body(endpoint, model, prompt, max_tokens, tools);
    json_decref(tools);
    if (!body) return 1;
    char target[2048];
    snprintf(target, sizeof target, "%s/%s", url, strcmp(endpoint, "chat") == 0 ? "chat/completions" : endpoint);

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, conc);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    const char *key = getenv("SONDE_LOAD_KEY");
    if (key && *key) {
        char auth[1024];
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", key);
        hdrs = curl_slist_append(hdrs, auth);
    }
    client *cl = calloc((size_t)conc, sizeof *cl);
    samples ttft = {0}, e2e = {0};
    long started = 0, done = 0, ok = 0, conn_err = 0, status_count[600] = {0};
    double t0 = now(), last_progress = t0;
    int running = 0;

    for (;;) {
        double t = now();
        int can_start = !interrupted && (!limit || started < limit) && (!duration || t - t0 < duration);
        for (long i = 0; i < conc && can_start && (!limit || started < limit); i++) {
            client *c = &cl[i];
            if (c->active) continue;
            if (!c->e) {
                c->e = curl_easy_init();
                curl_easy_setopt(c->e, CURLOPT_URL, target);
                curl_easy_setopt(c->e, CURLOPT_HTTPHEADER, hdrs);
                curl_easy_setopt(c->e, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c->e, CURLOPT_WRITEFUNCTION, on_data);
                curl_easy_setopt(c->e, CURLOPT_WRITEDATA, c);
                curl_easy_setopt(c->e, CURLOPT_PRIVATE, c);
                curl_easy_setopt(c->e, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(c->e, CURLOPT_TCP_NODELAY, 1L);
                curl_easy_setopt(c->e, CURLOPT_CONNECTTIMEOUT, 10L);
            } else {
                curl_multi_remove_handle(multi, c->e);
            }
            c->active = 1;
            c->got_first = 0;
            c->tail[0] = 0;
            c->start = now();
            curl_multi_add_handle(multi, c->e);
            started++;
        }
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            client *c;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            double end = now();
            long status = 0;
            curl_easy_getinfo(c->e, CURLINFO_RESPONSE_CODE, &status);
            done++;
            if (streaming && c->got_first) streams_now--;
            if (m->data.result != CURLE_OK || status == 0) conn_err++;
            else {
                status_count[status < 600 ? status : 599]++;
                if (status == 200) {
                    ok++;
                    add(&e2e, end - c->start);
                    add(&ttft, (streaming && c->got_first ? c->first : end) - c->start);
                }
            }
            c->active = 0;
        }
        t = now();
        if (progress && t - last_progress >= 1) {
            last_progress = t;
            fprintf(stderr, "\r[%6.1fs] %ld done, %ld ok, %ld errors, %d in flight, %.1f req/s   ",
                    t - t0, done, ok, done - ok, running, (double)done / (t - t0));
        }
        int any_active = 0, any_free = 0;
        for (long i = 0; i < conc; i++) {
            any_active |= cl[i].active;
            any_free |= !cl[i].active;
        }
        can_start = !interrupted && (!limit || started < limit) && (!duration || t - t0 < duration);
        if (!any_active && !can_start) break;
        if (interrupted && any_active) { /* Ctrl-C: abandon what runs */
            for (long i = 0; i < conc; i++)
                if (cl[i].active) curl_multi_remove_handle(multi, cl[i].e), cl[i].active = 0;
            break;
        }
        if (any_free && can_start) continue; /* a client is idle: start its next request now */
        curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    double elapsed = now() - t0;
    if (progress) fputc('\n', stderr);
    qsort(ttft.v, ttft.n, sizeof *ttft.v, cmp);
    qsort(e2e.v, e2e.n, sizeof *e2e.v, cmp);
    printf("sonde-load: %ld requests in %.2f s: %.1f req/s, %ld ok\n", done, elapsed,
           (double)done / elapsed, ok);
    printf("errors:");
    int any = 0;
    for (int s = 0; s < 600; s++)
        if (status_count[s] && s != 200) printf(" %d=%ld", s, status_count[s]), any = 1;
    if (conn_err) printf(" connection=%ld", conn_err), any = 1;
    printf("%s\n", any ? "" : " none");
    printf("ttft ms: p50 %.2f  p95 %.2f  p99 %.2f\n", pct(&ttft, .5) * 1e3, pct(&ttft, .95) * 1e3,
           pct(&ttft, .99) * 1e3);
    printf("e2e  ms: p50 %.2f  p95 %.2f  p99 %.2f\n", pct(&e2e, .5) * 1e3, pct(&e2e, .95) * 1e3,
           pct(&e2e, .99) * 1e3);
    if (streaming) printf("peak concurrent streams receiving tokens: %d\n", streams_peak);
    printf("SUMMARY requests=%ld ok=%ld errors=%ld rps=%.2f ttft_p50_ms=%.3f ttft_p95_ms=%.3f "
           "ttft_p99_ms=%.3f e2e_p50_ms=%.3f e2e_p95_ms=%.3f e2e_p99_ms=%.3f peak_streams=%d\n",
           done, ok, done - ok, (double)done / elapsed, pct(&ttft, .5) * 1e3, pct(&ttft, .95) * 1e3,
           pct(&ttft, .99) * 1e3, pct(&e2e, .5) * 1e3, pct(&e2e, .95) * 1e3, pct(&e2e, .99) * 1e3,
           streams_peak);
    for (long i = 0; i < conc; i++)
        if (cl[i].e) {
            curl_multi_remove_handle(multi, cl[i].e);
            curl_easy_cleanup(cl[i].e);
        }
    free(cl);
    free(ttft.v);
    free(e2e.v);
    curl_slist_free_all(hdrs);
    free(body);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return ok > 0 || done == 0 ? 0 : 1;
}
